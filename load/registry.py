"""The load generators a run started, written down so that `flexchaos rollback` can stop any
that a killed run left behind — and never anything else.

Locust already dies with its harness (PR_SET_PDEATHSIG, load/runner.py), but only on Linux and
only if it honours the signal; this registry is the second line. Each process is recorded when
it starts — pid, role, its command line's program and its start time as the kernel reports it
(psutil's `create_time`) — and the run is marked stopped when it stopped them. A pid is reused
by the system once its process is gone, so a recorded pid is killed only when the process
holding it now has the same start time and is Locust: a recycled pid is reported and left
alone. The file lives beside the journal (`load-generators.jsonl`), so rollback reads the pair.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

REGISTRY_NAME = "load-generators.jsonl"
STARTED = "started"
STOPPED = "stopped"
# psutil's start time is the kernel's boot time + the process's start in clock ticks; the boot
# time it reads (/proc/stat btime) moves by up to a second between reads on some kernels. A pid
# recycled within 2 s of the original's start would need the pid space to wrap meanwhile.
SAME_START_S = 2.0
STOP_GRACE_S = 5.0
POLL_S = 0.05


def registry_beside(journal: Path) -> Path:
    """Where a run whose journal is `journal` records its load generators."""
    return Path(journal).with_name(REGISTRY_NAME)


@dataclass(frozen=True)
class Generator:
    """One load-generating process as it was when it started."""

    run: str
    role: str
    pid: int
    create_time: float

    def same_process(self) -> psutil.Process | None:
        """The process, if the pid still names the one recorded (same start, still Locust)
        and it has not exited."""
        try:
            process = psutil.Process(self.pid)
            same = abs(process.create_time() - self.create_time) <= SAME_START_S
            return process if same and _is_locust(process) and not _exited(process) else None
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return None

    def recycled(self) -> bool:
        """The pid now names a different process (one that started at another time)."""
        try:
            process = psutil.Process(self.pid)
            return abs(process.create_time() - self.create_time) > SAME_START_S
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return False


def _is_locust(process: psutil.Process) -> bool:
    return any("locust" in part for part in process.cmdline())


def _exited(process: psutil.Process) -> bool:
    """Gone, or a zombie (exited; only its parent has not collected it yet)."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_exited(processes: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """Poll until every process has exited or the deadline passes; the ones still running."""
    deadline = time.monotonic() + timeout_s
    left = [p for p in processes if not _exited(p)]
    while left and time.monotonic() < deadline:
        time.sleep(POLL_S)
        left = [p for p in left if not _exited(p)]
    return left


class LoadRegistry:
    """Append-only JSON lines of started processes and stopped runs; `run` is the run that
    records (rollback reads every run's)."""

    def __init__(self, path: Path | str, run: str = "rollback") -> None:
        self.path = Path(path)
        self.run = run
        self._lock = threading.Lock()

    def _append(self, record: dict[str, object]) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode())
                os.fsync(fd)
            finally:
                os.close(fd)

    def record_started(self, processes: Iterable[tuple[str, int]]) -> None:
        """Write down each (role, pid) with its start time; call right after spawning."""
        for role, pid in processes:
            try:
                created = psutil.Process(pid).create_time()
            except psutil.NoSuchProcess:
                continue  # already gone: nothing will be left behind
            record = {"record": STARTED, "run": self.run, "role": role, "pid": pid}
            self._append({**record, "create_time": created})

    def record_stopped(self, run: str | None = None) -> None:
        self._append({"record": STOPPED, "run": run or self.run, "time": time.time()})

    def records(self) -> list[dict[str, object]]:
        if not self.path.is_file():
            return []
        found = []
        for line in self.path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line torn by a kill: its process has the parent-death signal
            if isinstance(record, dict) and record.get("record") in (STARTED, STOPPED):
                found.append(record)
        return found

    def left_behind(self) -> list[Generator]:
        """Processes recorded by runs that never said they stopped them."""
        records = self.records()
        stopped = {r.get("run") for r in records if r["record"] == STOPPED}
        generators = []
        for r in records:
            if r["record"] != STARTED or r.get("run") in stopped:
                continue
            try:
                run, role, pid, created = r["run"], r["role"], r["pid"], r["create_time"]
                generators.append(Generator(str(run), str(role), int(pid), float(created)))  # type: ignore[arg-type]
            except (KeyError, TypeError, ValueError):
                continue
        return generators

    def stop_left_behind(
        self, out: Callable[[str], None] = print, grace_s: float = STOP_GRACE_S
    ) -> int:
        """SIGTERM (then SIGKILL after `grace_s`) each recorded process that is still the one
        recorded; one line per process; returns how many were stopped."""
        generators = self.left_behind()
        alive: list[tuple[Generator, psutil.Process]] = []
        for g in generators:
            process = g.same_process()
            if process is not None:
                alive.append((g, process))
            elif g.recycled():
                out(
                    f"load generator of run {g.run} ({g.role}, pid {g.pid}): gone; pid {g.pid} "
                    "now belongs to another process, not touched"
                )
        for _, process in alive:
            _signal(process, psutil.Process.terminate)
        still = _wait_exited([p for _, p in alive], grace_s)
        for process in still:
            _signal(process, psutil.Process.kill)
        _wait_exited(still, grace_s)
        killed = {p.pid for p in still}
        for g, _ in alive:
            how = "killed (it ignored SIGTERM)" if g.pid in killed else "stopped"
            out(f"load generator of run {g.run} ({g.role}, pid {g.pid}) was left running: {how}")
        for run in sorted({g.run for g in generators}):
            self.record_stopped(run)
        return len(alive)


def _signal(process: psutil.Process, send: Callable[[psutil.Process], None]) -> None:
    """Send only to the process recorded: psutil refuses a pid reused meanwhile."""
    with contextlib.suppress(psutil.NoSuchProcess):
        send(process)
