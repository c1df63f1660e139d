"""Live progress: a phase change is said without a rate, so no fake "0 req/s" dip appears, and
the requests it saw are counted by the next regular line over its whole interval; phases carry
the chart's names (baseline, fault, recovery)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from flexchaos.progress import Progress, RequestLogTail


def test_a_phase_change_prints_no_rate_and_loses_no_request(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    log.write_text("")
    lines: list[str] = []
    capacity = pd.DataFrame({"time": [1.0, 1.0], "healthy": [True, False]})
    probe = pd.DataFrame({"ok": pd.Series([], dtype=bool)})
    progress = Progress("test_stop_vm", lines.append, RequestLogTail(lambda: [log]),
                        lambda: capacity, lambda: probe, time_scale=0.05)  # fmt: skip
    log.write_text("".join(json.dumps({"ok": i % 10 != 0}) + "\n" for i in range(100)))
    progress.set_phase("inject")
    assert lines[-1].startswith("  [test_stop_vm] → fault (inject)")
    assert "req/s" not in lines[-1] and "healthy 1/2" in lines[-1]
    progress.tick()
    assert lines[-1].startswith("  [test_stop_vm] fault ")
    assert "req/s" in lines[-1] and lines[-1].rstrip().endswith("10 errors")
    progress.set_phase("revert")
    assert lines[-1].startswith("  [test_stop_vm] → recovery (revert)")
