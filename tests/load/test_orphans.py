"""A harness killed with SIGKILL leaves no load behind: Locust (started by load.runner) gets
SIGTERM from the kernel when the harness dies (PR_SET_PDEATHSIG), and is gone within seconds
instead of running on to its run-time bound (issue 14: orphaned load read by the next run)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.probes.local_server import LocalServer
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
HARNESS = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from load.runner import LoadPlan, LoadRun
    plan = LoadPlan(host=sys.argv[1], users=2, spawn_rate=2, run_time_s=600)
    run = LoadRun(plan, Path(sys.argv[2]))
    run.start()
    run.wait_for_first_requests(timeout=60)
    print(run.master.pid, flush=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # wait to be killed
        time.sleep(0.1)
    """
)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent has not reaped it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_locust_dies_with_a_harness_killed_by_sigkill(tmp_path: Path) -> None:
    with LocalServer(mode="ok") as server:
        harness = subprocess.Popen(
            [sys.executable, "-c", HARNESS, server.url, str(tmp_path / "load")],
            cwd=REPO, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert harness.stdout is not None
            locust = int(harness.stdout.readline())
            assert alive(locust)
        finally:
            os.kill(harness.pid, signal.SIGKILL)
            harness.wait(timeout=30)
        wait_for(lambda: not alive(locust), timeout=5, what="Locust to end with its harness")
