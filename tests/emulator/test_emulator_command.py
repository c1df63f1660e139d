"""`flexchaos emulator` as a user runs it: one JSON line, GET /_emulator, Ctrl-C → exit 0."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

READY_KEYS = {
    "arm_url",
    "lb_url",
    "subscription_id",
    "resource_group",
    "scale_set",
    "load_balancer",
    "location",
    "time_scale",
    "token",
    "pid",
}


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "flexchaos", "emulator", *args]


def test_prints_ready_line_serves_it_and_stops_on_sigint() -> None:
    process = subprocess.Popen(
        _command("--port", "0", "--time-scale", "0.02"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        info = json.loads(line)
        assert set(info) >= READY_KEYS
        assert info["arm_url"].startswith("http://127.0.0.1:")
        assert info["time_scale"] == 0.02
        assert info["pid"] == process.pid
        served = httpx.get(info["arm_url"] + "/_emulator", timeout=10).json()
        assert served == info
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=20) == 0
        assert process.stdout.read() == ""  # exactly one line on stdout
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


def test_bad_topology_is_one_line_and_exit_2(tmp_path: Path) -> None:
    topology = tmp_path / "bad.toml"
    topology.write_text("[scale_set]\nvm_count = -1\n")
    done = subprocess.run(
        _command("--topology", str(topology)), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "vm_count" in lines[0]


def _gone(pid: int) -> bool:
    """Not running any more (exited, or a zombie waiting for its new parent to reap it)."""
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in state


def test_an_emulator_started_by_a_harness_exits_when_the_harness_is_killed() -> None:
    from tests.waiting import wait_for

    parent = subprocess.Popen(
        [
            sys.executable, "-c",
            "import time\n"
            "from emulator.launcher import RunningEmulator\n"
            "emulator = RunningEmulator(time_scale=0.02)\n"
            "print(emulator.info.pid, flush=True)\n"
            "time.sleep(120)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        assert parent.stdout is not None
        emulator_pid = int(parent.stdout.readline())
        assert not _gone(emulator_pid)
    finally:
        parent.kill()  # SIGKILL: the harness cannot stop its emulator itself
        parent.wait(timeout=10)
    wait_for(lambda: _gone(emulator_pid), timeout=15, what="the orphaned emulator to exit")
