"""Issue 12, case 1 and the harness-trouble catalogue: a Chaos Studio run whose fault never
landed (the execution ran but touched no VM, or failed) is inconclusive — fault not exercised —
and never passes, whatever the figures say."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.launcher import RunningEmulator
from tests.gate.gameday import experiment_file, run_gameday

MARKER = "fault='chaos-shutdown', select=Selection(count=1, priority='Regular'), hold_s=30"


@pytest.fixture(scope="module")
def fleet(start_emulator) -> RunningEmulator:
    return start_emulator()


@pytest.mark.parametrize(
    ("actions", "why"),
    [
        ("inert", "the execution ended Success but"),  # accepted, ran, never took effect
        ("fail", "the Chaos Studio execution ended Failed"),
    ],
)
def test_a_chaos_fault_that_did_not_land_is_inconclusive(
    fleet: RunningEmulator, tmp_path: Path, actions: str, why: str
) -> None:
    path = experiment_file(tmp_path, "test_chaos_shutdown", MARKER)
    fleet.client.set_control_faults(chaos_actions=actions)
    try:
        run = run_gameday(fleet, tmp_path, path)
    finally:
        fleet.client.set_control_faults()
    assert run.code == 3, run.tail()
    verdict = run.verdicts()["test_chaos_shutdown"]
    assert verdict["state"] == "inconclusive"
    assert verdict["reason"].startswith("fault not exercised: "), verdict["reason"]
    assert why in verdict["reason"]
    assert "fault NOT shown to have landed" in run.stdout
    assert "game day INCONCLUSIVE" in run.stdout
