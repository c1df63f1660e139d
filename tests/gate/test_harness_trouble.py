"""The gate's catalogue of harness trouble (issue 12, cases 2 and 8): when the evidence behind a
figure has a gap — half of the capacity listings fail, or Locust dies mid-run — the figures that
rest on it are *not judged* and the run is inconclusive (exit 3), never a PASS.

Both run the real default-load game day at a time scale where it is fully judged when nothing
goes wrong (tests/gameday/test_gameday_command.py shows that run passing).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from emulator.launcher import RunningEmulator
from tests.gate.gameday import REPO, GameDayRun
from tests.waiting import wait_for

STOP_VM = REPO / "experiments" / "test_stop_vm.py"


@pytest.fixture(scope="module")
def fleet(start_emulator) -> RunningEmulator:
    return start_emulator(time_scale=0.05)


def gameday_process(fleet: RunningEmulator, tmp_path: Path) -> subprocess.Popen[str]:
    cmd = [
        sys.executable, "-m", "flexchaos", "gameday", "--no-report", "--experiments",
        str(STOP_VM), "--work-dir", str(tmp_path / "work"), "--", "--arm-url",
        fleet.info.arm_url,
    ]  # fmt: skip
    return subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def finish(process: subprocess.Popen[str], lines: list[str], tmp_path: Path) -> GameDayRun:
    code = process.wait(timeout=300)
    return GameDayRun(code, "".join(lines), "", tmp_path / "work")


def test_half_of_the_capacity_listings_failing_is_not_judged(
    fleet: RunningEmulator, tmp_path: Path
) -> None:
    process = gameday_process(fleet, tmp_path)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")))
    reader.start()
    try:  # the listings fail from the fault on, not before (the steady state must hold)
        wait_for(lambda: any("(inject)" in line for line in lines), timeout=120, what="inject")
        fleet.client.set_control_faults(listing_failure_rate=0.5)
        run = finish(process, lines, tmp_path)
    finally:
        fleet.client.set_control_faults()
        process.kill()
        reader.join(10)
    assert run.code == 3, run.tail()
    verdict = run.verdicts()["test_stop_vm"]
    assert verdict["state"] == "inconclusive"
    reasons = " ".join(r["reason"] for r in verdict["rows"] if r["reason"])
    assert "not judged" in reasons and "capacity" in reasons, reasons
    assert "game day PASSED" not in run.stdout


def test_locust_killed_mid_run_is_not_judged(fleet: RunningEmulator, tmp_path: Path) -> None:
    process = gameday_process(fleet, tmp_path)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")))
    reader.start()
    try:
        wait_for(
            lambda: any("→ fault (hold)" in line for line in lines), timeout=120, what="the hold"
        )
        killed = kill_locust(tmp_path / "work")
        assert killed, "no Locust process of this run was found"
        run = finish(process, lines, tmp_path)
    finally:
        process.kill()
        reader.join(10)
    assert run.code == 3, run.tail()
    verdict = run.verdicts()["test_stop_vm"]
    assert verdict["state"] == "inconclusive"
    reasons = " ".join(r["reason"] for r in verdict["rows"] if r["reason"])
    assert "Locust" in reasons, reasons


def kill_locust(work: Path) -> list[int]:
    """SIGKILL the Locust processes whose command line names this run's work dir."""
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = [a.decode(errors="replace") for a in argv]
        if "locust" in text and any(str(work) in a for a in text):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
            except ProcessLookupError:
                continue
    return killed
