"""Two game days started together on one scale set: the harness of the fast test
(tests/reliability/test_two_runs.py) and of the 20-trial bench (bench/bench_two_runs.py).

Both runs attach to one emulator. While they run, a sampler lists the scale set's VMs through
the SDK and keeps the most VMs seen out of `running` at once; afterwards the emulator's request
log says how many faults were sent. The lease must let exactly one run through: the other is
refused with exit 2 and one line naming the holder, and the set never has more VMs down than
the guard allows.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from emulator.launcher import RunningEmulator
from fleet.inventory import Inventory
from fleet.target import FleetTarget
from flexchaos.errors import FlexchaosError

REPO = Path(__file__).resolve().parents[2]
ZONE_DOWN = REPO / "experiments" / "test_zone_down.py"
REFUSED = "is in use by run"
FAULT_CALLS = ("/powerOff", "/deallocate", "/simulateEviction")
SAMPLE_S = 0.05


@dataclass(frozen=True)
class Run:
    code: int
    output: str
    wall_s: float

    @property
    def refused_by_lease(self) -> bool:
        return self.code == 2 and REFUSED in self.output

    def refusal_lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if REFUSED in line]


@dataclass(frozen=True)
class TwoRuns:
    runs: tuple[Run, Run]
    max_down: int  # most VMs seen out of `running` at once
    size: int
    fault_calls: int  # powerOff/deallocate/simulateEviction calls the emulator received
    stagger_s: float

    @property
    def refused(self) -> int:
        return sum(r.refused_by_lease for r in self.runs)

    @property
    def ran(self) -> list[Run]:
        return [r for r in self.runs if not r.refused_by_lease]


class DownSampler:
    """Most VMs out of `running` at once, from SDK listings every SAMPLE_S (bounded)."""

    def __init__(self, target: FleetTarget, deadline_s: float) -> None:
        self.inventory = Inventory(target)
        self.max_down, self.size = 0, 0
        self._stop = threading.Event()
        self._deadline = time.monotonic() + deadline_s
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            try:
                instances = self.inventory.instances()
            except FlexchaosError:
                instances = []
            if instances:
                self.size = len(instances)
                down = sum(1 for i in instances if i.power_state != "running")
                self.max_down = max(self.max_down, down)
            self._stop.wait(SAMPLE_S)

    def __enter__(self) -> DownSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def gameday_cmd(
    emulator: RunningEmulator, work: Path, experiment: Path, users: int = 4
) -> list[str]:
    return [
        sys.executable, "-m", "flexchaos", "gameday", "--no-report",
        "--experiments", str(experiment), "--work-dir", str(work), "--",
        "--arm-url", emulator.info.arm_url, "--users", str(users),
    ]  # fmt: skip


def two_runs(
    emulator: RunningEmulator,
    tmp: Path,
    *,
    experiment: Path = ZONE_DOWN,
    stagger_s: float = 0.0,
    timeout_s: float = 600.0,
    users: int = 4,
    stop_after_refusal: bool = False,
) -> TwoRuns:
    """Start two game days `stagger_s` apart on the emulator's scale set and wait for both.

    `stop_after_refusal` (the bench): once one run was refused and the other's fault is seen
    in, the other gets SIGTERM (it reverts and exits 130); the race is over by then, and the
    trial costs a fraction of a full experiment."""
    target = FleetTarget.from_emulator(emulator.info)
    tmp.mkdir(parents=True, exist_ok=True)
    mark = time.time()
    started: list[tuple[subprocess.Popen[str], float, Path]] = []
    with DownSampler(target, timeout_s) as sampler:
        for i in (1, 2):
            if i == 2 and stagger_s > 0:
                time.sleep(stagger_s)  # the stagger under test, not a synchronisation
            log = tmp / f"run{i}.log"
            with log.open("w") as out:
                process = subprocess.Popen(
                    gameday_cmd(emulator, tmp / f"run{i}", experiment, users), cwd=REPO,
                    text=True, stdout=out, stderr=subprocess.STDOUT,
                )  # fmt: skip
            started.append((process, time.monotonic(), log))
        walls: dict[int, float] = {}
        deadline = time.monotonic() + timeout_s
        stopped = False
        while len(walls) < 2 and time.monotonic() < deadline:
            for n, (process, t0, _) in enumerate(started):
                if n not in walls and process.poll() is not None:
                    walls[n] = time.monotonic() - t0
            refused = [n for n in walls if REFUSED in started[n][2].read_text()]
            over = refused and len(walls) == 1 and sampler.max_down > 0  # the other's fault is in
            if stop_after_refusal and over and not stopped:
                started[1 - refused[0]][0].send_signal(signal.SIGTERM)
                stopped = True
            time.sleep(SAMPLE_S)
        for process, _, _ in started:
            if process.poll() is None:
                process.kill()
                process.wait()
    runs = tuple(
        Run(p.returncode, log.read_text(), walls.get(n, timeout_s))
        for n, (p, _, log) in enumerate(started)
    )
    entries = emulator.client.requests()["log"]
    calls = sum(
        1 for e in entries
        if e["time"] >= mark and e["method"] == "POST" and str(e["path"]).endswith(FAULT_CALLS)
    )  # fmt: skip
    return TwoRuns((runs[0], runs[1]), sampler.max_down, sampler.size, calls, stagger_s)
