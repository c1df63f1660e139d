"""End to end: the stop experiment's detection time, as `flexchaos gameday` measures it from the
load balancer's per-backend health, agrees with the emulator's ground truth (`probe_down`)
within one routing-probe tick."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.launcher import RunningEmulator
from probes.metrics import compute_metrics
from probes.phases import FROM_LOAD_BALANCER, LABELS
from probes.timeline import Timeline

REPO = Path(__file__).resolve().parents[2]
TIME_SCALE = 0.05  # wall seconds per platform second
QUERY_SLACK_S = 0.05  # wall: a query's own time (its row is stamped when it is sent)


@pytest.fixture(scope="module")
def fleet(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return start_emulator(time_scale=TIME_SCALE)  # a probe interval of 0.25 s wall: judgeable


def test_stop_vm_detection_agrees_with_the_load_balancers_truth(
    fleet: RunningEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    cmd = [
        sys.executable, "-m", "flexchaos", "gameday", "--no-report",
        "--experiments", str(REPO / "experiments" / "test_stop_vm.py"),
        "--results", str(tmp_path / "allure-results"), "--work-dir", str(out),
        "--", "--arm-url", fleet.info.arm_url, "--journal", str(tmp_path / "journal.jsonl"),
        "--targets", str(REPO / "experiments" / "targets.toml"),
    ]  # fmt: skip
    run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=240, check=False)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "max_detection_time_s" in run.stdout  # a row of the verdict table
    (line,) = [x for x in run.stdout.splitlines() if "phases of" in x]  # the terminal's line
    assert all(label in line for label in LABELS.values())

    timeline = Timeline.read(out / "experiments" / "test_stop_vm" / "timeline")
    assert not timeline.routing.empty, "the routing probe ran"
    phases = compute_metrics(timeline).failover_phases
    assert phases is not None
    (vm,) = phases.vms
    assert vm.routing_source == FROM_LOAD_BALANCER and vm.routing_reason
    truth = [e["time"] for e in fleet.client.truth("probe_down", vm.vm) if e["time"] >= vm.accepted]
    assert truth, f"the emulator's load balancer took {vm.vm} out"
    probe_down = min(truth)
    tick = phases.routing_step_s
    assert tick is not None
    assert vm.routing_stopped is not None
    # the change lies between the last sample showing it up and the first showing it down (a
    # sample sent just before can see it too: the query is answered a moment later); the
    # estimate is that interval's midpoint, so within half a tick of the truth either way
    assert abs(vm.routing_stopped - probe_down) <= tick / 2 + QUERY_SLACK_S
    verdicts = json.loads((out / "verdicts.json").read_text())
    verdict = next(v for v in verdicts if v["experiment"] == "test_stop_vm")
    row = next(r for r in verdict["rows"] if r["target"] == "max_detection_time_s")
    truth_s = (probe_down - vm.accepted) / TIME_SCALE  # platform seconds
    within = (tick / 2 + QUERY_SLACK_S) / TIME_SCALE
    assert row["passed"] and abs(row["measured"] - truth_s) <= within
