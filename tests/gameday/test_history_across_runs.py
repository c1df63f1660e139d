"""Three consecutive game days with their report: one history per experiment across runs.

The experiment's Allure history id must come from the experiment and the scale set only, not
from the VMs, the seed or the emulator's port, which change every run: then the History tab
holds all three runs, the miss in the second and the fix in the third show as status
transitions, and the failover trend has three points. One short stop experiment per run keeps
it cheap; its only target (p95 latency) is strict in the second run, so the status change is
certain whatever the machine's load.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = """import pytest
from fleet.selection import Selection


@pytest.mark.chaos(fault="stop", select=Selection(count=1, priority="Regular"), baseline_s=10,
                   hold_s=10, recovery_limit_s=300, title="Short stop")
def test_short_stop(game_day):
    game_day.run()
"""
EMBEDDED = re.compile(r'data/test-results/([0-9a-f]+)\.json","([A-Za-z0-9+/=]+)"')

pytestmark = pytest.mark.skipif(
    shutil.which("npm") is None or shutil.which("node") is None,
    reason="Node.js/npm not on PATH: the report (and its history) needs them",
)


def test_three_runs_share_one_history_and_trend(start_emulator, tmp_path: Path) -> None:
    fleet = start_emulator(time_scale=0.05)
    experiment = tmp_path / "test_short_stop.py"
    experiment.write_text(EXPERIMENT)
    work = tmp_path / "work"
    codes, outputs = [], []
    for p95_limit in (10_000, 0.001, 10_000):  # met, missed, met again
        targets = tmp_path / "targets.toml"
        targets.write_text(f"[defaults]\nmax_p95_latency_ms = {p95_limit}\n")
        cmd = [
            sys.executable, "-m", "flexchaos", "gameday", "--experiments", str(experiment),
            "--work-dir", str(work), "--", "--arm-url", fleet.info.arm_url,
            "--targets", str(targets), "--users", "4",
        ]  # fmt: skip
        run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=240)
        codes.append(run.returncode)
        outputs.append(run.stdout)
    assert codes == [0, 1, 0], "\n".join(o[-2500:] for o in outputs)

    # Allure's history: one line per run, one history id for the experiment in all three
    lines = [json.loads(line) for line in (work / "history.jsonl").read_text().splitlines()]
    assert len(lines) == 3
    ids = [set(line["testResults"]) for line in lines]
    assert ids[0] == ids[1] == ids[2] and len(ids[0]) == 1
    (history_id,) = ids[0]
    assert [line["testResults"][history_id]["status"] for line in lines] == [
        "passed", "failed", "passed"
    ]  # fmt: skip

    # the report of the third run shows the two before it and the fix
    result = _embedded_result(work / "allure-report" / "awesome" / "index.html", "Short stop")
    assert len(result.get("history") or []) >= 2, sorted(result)
    assert result.get("transition") == "fixed", result.get("transition")

    # our metric trend: three points for the experiment
    points = [json.loads(line) for line in (work / "trend.jsonl").read_text().splitlines()]
    assert [p["state"] for p in points if p["experiment"] == "test_short_stop"] == [
        "passed", "failed", "passed"
    ]  # fmt: skip

    # the run summary opens first and says what changed since the previous run
    summary = (work / "allure-report" / "index.html").read_text()
    assert "was missed" in summary and "test_short_stop" in summary
    assert "was missed" in outputs[2] and "was met" in outputs[1]


def _embedded_result(awesome: Path, title: str) -> dict:
    for match in EMBEDDED.finditer(awesome.read_text(encoding="utf-8")):
        data = json.loads(base64.b64decode(match.group(2)))
        if data.get("name") == title:
            return data
    raise AssertionError(f"no test result titled {title!r} in {awesome}")
