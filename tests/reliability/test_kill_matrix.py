"""The kill -9 matrix in small (bench/bench_kill_matrix.py runs all of it): the harness is
SIGKILLed mid-experiment, then `flexchaos rollback` restores everything, quickly, with one line
per entry; no load generator outlives the harness by 5 s; a second rollback does nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.kill_trial import TrialSpec, run_trial

TRIALS = [
    TrialSpec(0, "test_stop_vm", "hold", seed=14001),
    # Killed while the eviction is journaled and on its way (the Preempt notice): rollback
    # waits for it to land, bounded by the notice on the emulator's clock, then starts it.
    TrialSpec(1, "test_spot_eviction", "injected", seed=14002),
]


@pytest.mark.parametrize("spec", TRIALS, ids=lambda s: f"{s.experiment}-{s.phase}")
def test_sigkill_then_rollback_restores_everything(spec: TrialSpec, tmp_path: Path) -> None:
    record = run_trial(spec, tmp_path, next_run=False)
    assert not record.error, record.error
    assert record.killed and record.open_at_kill, record.to_dict()
    assert record.load_processes >= 1 and record.load_alive_after_5s == 0, record.to_dict()
    assert record.rollback_exit == 0, record.rollback_lines
    entries = [line for line in record.rollback_lines if "(vmss-web, " in line]  # one per entry
    assert len(entries) == len(record.open_at_kill), record.rollback_lines
    # the summary line, then (after a kill) the stale lease it broke
    assert any(line.startswith("rollback done in") for line in record.rollback_lines), (
        record.rollback_lines
    )
    assert record.restored, record.not_restored
    assert record.second_noop and record.second_mutating_calls == 0, record.to_dict()
