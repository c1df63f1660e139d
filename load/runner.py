"""Start Locust as child processes, wait for its first requests, stop it cleanly.

Locust monkey-patches its whole process with gevent, so it never runs inside pytest or the
harness: it is always a subprocess (one headless process, or a master and N workers). Every run
has a hard upper bound on its duration (`-t`), and stop() escalates SIGTERM → kill on a deadline.
Exit code 1 means "some requests failed" — normal in a chaos run — and is not an error.

A run's work dir holds: `locust_stats*.csv` (full history), `locust.json` (exact totals),
`requests/*.jsonl` (one per load-generating process, see load/request_log.py) and `logs/`.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import urlparse

from flexchaos.errors import LoadError
from load.env import LOG_DIR_ENV

DEFAULT_LOCUSTFILE = Path(__file__).with_name("locustfile.py")
MAX_RUN_TIME_S = 6 * 3600
MAX_USERS = 10_000
MAX_WORKERS = 64
WORKER_CONNECT_WAIT_S = 30
STOP_GRACE_S = 15.0
POLL_S = 0.05
PR_SET_PDEATHSIG = 1  # prctl(2): the signal a child gets when its parent thread dies
NORMAL_EXIT_CODES = (0, 1)  # 1: some requests failed (Locust's --exit-code-on-error)


def die_with_parent() -> Callable[[], None] | None:
    """In the child, before exec: ask Linux for SIGTERM when the harness thread that started it
    dies (PR_SET_PDEATHSIG), so Locust never outlives a harness killed with SIGKILL — an orphan
    would keep loading the fleet and write request logs a retry could read. Elsewhere: None (the
    run-time bound still ends Locust)."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()
    # Resolved here, in the parent: between fork and exec the child only makes the call (no
    # dlopen, no import, no lock another thread of the harness might have held at the fork).
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    term = int(signal.SIGTERM)

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, term, 0, 0, 0)
        if os.getppid() != parent:  # the harness died before the request took effect
            os._exit(1)

    return arm


@dataclass(frozen=True)
class LoadPlan:
    """What to run: the target, how many users, for how long at most, and where."""

    host: str
    users: int = 10
    spawn_rate: float = 10.0
    run_time_s: float = 60.0
    locustfile: Path = DEFAULT_LOCUSTFILE
    workers: int = 0
    external_workers: int = 0
    master_bind_host: str = "127.0.0.1"
    master_port: int = 0
    env: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        """One readable line per mistake; nothing has been started yet."""
        url = urlparse(self.host)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise LoadError(f"load host {self.host!r} is not an http(s) URL; pass e.g. lb_url")
        if not 1 <= self.users <= MAX_USERS:
            raise LoadError(f"users={self.users} is out of range; use 1..{MAX_USERS}")
        if not self.spawn_rate > 0:
            raise LoadError(f"spawn_rate={self.spawn_rate} must be > 0 users per second")
        if not 0 < self.run_time_s <= MAX_RUN_TIME_S:
            raise LoadError(
                f"run_time_s={self.run_time_s} is out of range; "
                f"use 0 < run time <= {MAX_RUN_TIME_S} s"
            )
        if not 0 <= self.workers <= MAX_WORKERS or not 0 <= self.external_workers <= MAX_WORKERS:
            raise LoadError(f"workers must be 0..{MAX_WORKERS} (local and external each)")
        if not Path(self.locustfile).is_file():
            raise LoadError(f"locustfile {self.locustfile} does not exist; pass an existing file")

    @property
    def distributed(self) -> bool:
        return self.workers + self.external_workers > 0


@dataclass(frozen=True)
class LoadResult:
    """How a run ended and where its evidence is."""

    exit_code: int
    total_requests: int | None
    total_failures: int | None
    workdir: Path
    request_log_dir: Path
    json_path: Path
    csv_prefix: Path

    @property
    def normal_exit(self) -> bool:
        return self.exit_code in NORMAL_EXIT_CODES


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def locust_totals(json_path: Path) -> tuple[int, int] | None:
    """(requests, failures) summed from Locust's --json-file, or None if it is missing."""
    if not json_path.is_file():
        return None
    entries = json.loads(json_path.read_text() or "[]")
    return (
        sum(int(e.get("num_requests", 0)) for e in entries),
        sum(int(e.get("num_failures", 0)) for e in entries),
    )


class LoadRun:
    """One Locust run (single process, or master + local workers) in its own work dir."""

    def __init__(self, plan: LoadPlan, workdir: Path) -> None:
        plan.validate()
        self.plan = plan
        self.workdir = Path(workdir)
        self.request_log_dir = self.workdir / "requests"
        self.logs_dir = self.workdir / "logs"
        self.csv_prefix = self.workdir / "locust"
        self.json_path = self.workdir / "locust.json"
        self.master_port = plan.master_port or (
            _free_port(plan.master_bind_host) if plan.distributed else 0
        )
        self.master: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self.started_at: float | None = None
        self._deadline: float | None = None
        self._log_files: list[object] = []

    # -- commands -----------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        return {**os.environ, **self.worker_environment(), "PYTHONUNBUFFERED": "1"}

    def master_command(self) -> list[str]:
        plan = self.plan
        cmd = [
            sys.executable, "-m", "locust",
            "-f", str(plan.locustfile),
            "--headless",
            "--host", plan.host,
            "-u", str(plan.users),
            "-r", str(plan.spawn_rate),
            "-t", f"{max(1, math.ceil(plan.run_time_s))}s",
            "--csv", str(self.csv_prefix),
            "--csv-full-history",
            "--json-file", str(self.csv_prefix),
            "--only-summary",
            "--stop-timeout", "0",
        ]  # fmt: skip
        if plan.distributed:
            cmd += [
                "--master",
                "--master-bind-host", plan.master_bind_host,
                "--master-bind-port", str(self.master_port),
                "--expect-workers", str(plan.workers + plan.external_workers),
                "--expect-workers-max-wait", str(WORKER_CONNECT_WAIT_S),
            ]  # fmt: skip
        return cmd

    @property
    def master_address(self) -> tuple[str, int]:
        """Where external workers connect (distributed mode)."""
        return self.plan.master_bind_host, self.master_port

    def worker_environment(self) -> dict[str, str]:
        """The variables a worker needs: the plan's knobs and where its request log goes
        (on another machine, point FLEXCHAOS_REQUEST_LOG_DIR at a folder you copy back)."""
        return {**self.plan.env, LOG_DIR_ENV: str(self.request_log_dir)}

    def worker_command(self, master_host: str | None = None) -> list[str]:
        """The command a worker runs; external workers run it elsewhere (same locustfile)."""
        bind = self.plan.master_bind_host
        host = master_host or ("127.0.0.1" if bind in ("*", "0.0.0.0") else bind)
        return [
            sys.executable, "-m", "locust",
            "-f", str(self.plan.locustfile),
            "--worker",
            "--master-host", host,
            "--master-port", str(self.master_port),
        ]  # fmt: skip

    # -- lifecycle ----------------------------------------------------------------------------
    def _spawn(self, cmd: list[str], log_name: str) -> subprocess.Popen[bytes]:
        log = (self.logs_dir / log_name).open("ab")
        self._log_files.append(log)
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self._env(),
            cwd=self.workdir,
            start_new_session=True,  # a Ctrl-C in the terminal reaches the harness, not Locust
            preexec_fn=die_with_parent(),  # a kill -9 of the harness must not orphan the load
        )

    def start(self) -> LoadRun:
        if self.master is not None:
            raise LoadError("this load run was already started; create a new LoadRun")
        for folder in (self.workdir, self.request_log_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.started_at = time.time()
        connect_wait = WORKER_CONNECT_WAIT_S if self.plan.distributed else 0
        self._deadline = time.monotonic() + self.plan.run_time_s + connect_wait + STOP_GRACE_S
        self.master = self._spawn(self.master_command(), "master.log")
        for index in range(self.plan.workers):
            self.workers.append(self._spawn(self.worker_command(), f"worker-{index}.log"))
        return self

    def processes(self) -> list[tuple[str, int]]:
        """(role, pid) of every process this run started (load/registry.py records them)."""
        started = [("master", self.master)] if self.master is not None else []
        started += [(f"worker-{i}", w) for i, w in enumerate(self.workers)]
        return [(role, proc.pid) for role, proc in started]

    def request_logs(self) -> list[Path]:
        return sorted(self.request_log_dir.glob("*.jsonl"))

    def _log_tail(self) -> str:
        path = self.logs_dir / "master.log"
        lines = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
        return lines[-1] if lines else "(no output)"

    def wait_for_first_requests(self, timeout: float = 30.0) -> None:
        """Return once some request has been logged; LoadError if Locust died or stayed idle."""
        assert self.master is not None, "start() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.stat().st_size > 0 for p in self.request_logs()):
                return
            if self.master.poll() is not None:
                raise LoadError(
                    f"Locust exited with code {self.master.returncode} before its first request; "
                    f"last log line: {self._log_tail()} (logs in {self.logs_dir})"
                )
            time.sleep(POLL_S)
        raise LoadError(
            f"no request logged within {timeout:.0f} s; check the host and {self.logs_dir}"
        )

    @property
    def running(self) -> bool:
        return self.master is not None and self.master.poll() is None

    def wait(self, timeout: float | None = None) -> LoadResult:
        """Wait for the run to end by its own run time (bounded), then collect the result."""
        assert self.master is not None and self._deadline is not None, "start() first"
        limit = self._deadline if timeout is None else time.monotonic() + timeout
        while self.running and time.monotonic() < limit:
            time.sleep(POLL_S)
        return self.stop()

    def stop(self, grace_s: float = STOP_GRACE_S) -> LoadResult:
        """SIGTERM the master (it tells its workers to quit), then the workers; kill stragglers."""
        assert self.master is not None, "start() first"
        deadline = time.monotonic() + grace_s
        for proc in [self.master, *self.workers]:
            self._terminate(proc, deadline)
        for log in self._log_files:
            log.close()  # type: ignore[attr-defined]
        self._log_files.clear()
        totals = locust_totals(Path(f"{self.csv_prefix}.json"))
        return LoadResult(
            exit_code=self.master.returncode,
            total_requests=None if totals is None else totals[0],
            total_failures=None if totals is None else totals[1],
            workdir=self.workdir,
            request_log_dir=self.request_log_dir,
            json_path=self.json_path,
            csv_prefix=self.csv_prefix,
        )

    @staticmethod
    def _terminate(proc: subprocess.Popen[bytes], deadline: float) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def __enter__(self) -> LoadRun:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.master is not None and self.master.returncode is None:
            self.stop()
