"""One kill -9 trial: a real game-day experiment (the pytest harness, as `flexchaos gameday`
runs it) against an emulator, SIGKILLed at a seeded moment of one phase, then `flexchaos
rollback` — and what a user needs to be true afterwards, checked against the emulator:

- everything restored: every VM of the set running and healthy, every load-balancer backend
  up, every health extension's settings as before, no Chaos Studio execution still running,
  and in the emulator's ground truth the last power state of each VM is `running`;
- no load generator alive 5 s after the harness died (the harness's descendants that ran
  Locust, found before the kill);
- the first rollback exits 0 and says one line per entry; the second rollback exits 0, says
  "nothing to roll back" and makes no mutating ARM call (the emulator's request log);
- the next run of the same experiment, in the same work dir, ends as a clean run does.

Shared by tests/reliability/test_kill_matrix.py (2 trials) and bench/bench_kill_matrix.py
(the matrix). Phases: baseline, injected (from the moment the journal holds the entry: the
call may not have been sent, be in flight, or have landed), hold, revert (for an experiment
the platform heals, which has no revert, the moment the hold ends), recovery.
"""

from __future__ import annotations

import ast
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from emulator.launcher import RunningEmulator
from fleet.inventory import Inventory
from fleet.journal import Journal
from fleet.operations import VmOps
from fleet.target import FleetTarget
from load.runner import die_with_parent

REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS = REPO / "experiments"
PHASES = ("baseline", "injected", "hold", "revert", "recovery")
LOAD_GONE_AFTER_S = 5.0
RESTORE_TIMEOUT_S = 120.0
RUN_TIMEOUT_S = 300.0
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


def default_experiments() -> list[str]:
    """The fault experiments of the default game day (experiments/test_*.py with a chaos marker;
    the read-only design review injects nothing)."""
    return sorted(
        p.stem for p in EXPERIMENTS.glob("test_*.py") if "@pytest.mark.chaos" in p.read_text()
    )


def scenario_times(experiment: str) -> dict[str, Any]:
    """baseline_s, hold_s and platform_heals from the experiment's marker (platform s)."""
    tree = ast.parse((EXPERIMENTS / f"{experiment}.py").read_text())
    found: dict[str, Any] = {"baseline_s": 30.0, "hold_s": 60.0, "platform_heals": False}
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg in found:
            found[node.arg] = ast.literal_eval(node.value)
    return found


@dataclass(frozen=True)
class TrialSpec:
    index: int
    experiment: str
    phase: str
    seed: int

    @property
    def fraction(self) -> float:
        """Where in the phase the kill falls (0..1), from the seed."""
        return random.Random(self.seed).random()


@dataclass
class TrialRecord:
    spec: dict[str, Any]
    kill_delay_s: float | None = None  # wall s after the phase began
    killed: bool = False  # False: the run ended before the moment came (not counted)
    open_at_kill: list[dict[str, Any]] = field(default_factory=list)
    load_processes: int = 0
    load_alive_after_5s: int | None = None
    rollback_exit: int | None = None
    rollback_s: float | None = None
    rollback_lines: list[str] = field(default_factory=list)
    restored: bool = False
    restored_after_s: float | None = None
    not_restored: str = ""
    second_exit: int | None = None
    second_noop: bool = False
    second_mutating_calls: int | None = None
    next_state: str | None = None
    next_reason: str = ""
    next_baseline_error_rate: float | None = None
    error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Harness:
    """The pytest harness on one experiment, its stdout read line by line with the time each
    phase line first appeared."""

    def __init__(self, experiment: str, arm_url: str, work: Path) -> None:
        cmd = [
            sys.executable, "-m", "pytest", str(EXPERIMENTS / f"{experiment}.py"),
            "-p", "no:cacheprovider", "-q", "-o", "flexchaos_closing_summary=false",
            f"--arm-url={arm_url}", f"--work-dir={work}",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=die_with_parent(),  # a bench or test killed itself leaves no harness
        )  # fmt: skip
        self.phases: dict[str, float] = {}
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            parts = line.split("]", 1)
            if len(parts) == 2 and parts[0].strip().startswith("[test_"):
                # "[test_x] → fault (hold)  12.3 s wall": the chart's phase name, then the
                # lifecycle's step in brackets (flexchaos/progress.py); both are keys here
                words = parts[1].replace("→", " ").replace("(", " ").replace(")", " ").split()
                for phase in words[:2] if parts[1].strip().startswith("→") else words[:1]:
                    self.phases.setdefault(phase, time.monotonic())

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code


def _locust_descendants(pid: int) -> list[tuple[int, float]]:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if any("locust" in part for part in child.cmdline()):
                found.append((child.pid, child.create_time()))
        except psutil.Error:
            continue
    return found


def _alive(pid: int, created: float) -> bool:
    try:
        process = psutil.Process(pid)
        # within 2 s: the boot time psutil adds moves by up to a second between reads
        same = abs(process.create_time() - created) < 2.0
        return same and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _trigger(spec: TrialSpec, harness: Harness, journal: Path, scale: float) -> float | None:
    """Wait for the phase to begin; the monotonic time it began, or None if the run ended."""
    times = scenario_times(spec.experiment)
    phase = spec.phase
    if phase == "revert" and times["platform_heals"]:
        phase = "recovery"
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline and harness.process.poll() is None:
        if phase == "injected":
            if journal.is_file() and b'"injected"' in journal.read_bytes():
                return time.monotonic()
        else:
            key = {"recovery": "recover"}.get(phase, phase)
            if key in harness.phases:
                return harness.phases[key]
        time.sleep(0.005)
    return None


def phase_span_s(spec: TrialSpec, scale: float) -> float:
    """Wall seconds over which the seeded moment is spread in its phase."""
    times = scenario_times(spec.experiment)
    return {
        "baseline": 0.8 * times["baseline_s"] * scale,
        "injected": 1.0,  # journaled → sent → landed: the inject call takes about this long
        "hold": 0.8 * times["hold_s"] * scale,
        "revert": 0.5,
        "recovery": 1.0,
    }[spec.phase]


def restored(target: FleetTarget, emulator: RunningEmulator, settings: dict[str, Any]) -> str:
    """ "" when the fleet is as it was; otherwise what is not."""
    instances = Inventory(target).instances()
    if len(instances) != len(settings):
        return f"{len(instances)} VMs, expected {len(settings)}"
    bad = [f"{i.name} {i.power_state}/{i.health_state}" for i in instances if not i.healthy]
    if bad:
        return "not running+healthy: " + ", ".join(bad)
    lb = httpx.get(f"{emulator.info.arm_url}/_emulator/lb", timeout=10).json()
    down = [b["vm"] for b in lb["backends"] if b["state"] != "up"]
    if down:
        return "load balancer backends down: " + ", ".join(down)
    ops = VmOps(target)
    original = next(iter(settings.values()))
    for i in instances:
        ext = ops.health_extension(i.name)
        now = (ext or {}).get("properties", {}).get("settings")
        if now != settings.get(i.name, original):
            return f"{i.name}'s health extension settings differ: {now}"
    last: dict[str, str] = {}
    for event in emulator.client.truth(kind="power_state"):
        last[event["vm"]] = event["to"]
    wrong = [i.name for i in instances if last.get(i.name, "running") != "running"]
    if wrong:
        return "ground truth says not running: " + ", ".join(wrong)
    chaos = [e for e in emulator.client.truth(kind="chaos_execution") if e.get("status")]
    latest: dict[str, str] = {}
    for event in chaos:
        latest[str(event.get("execution_id"))] = str(event["status"]).lower()
    running = [x for x, s in latest.items() if s in ("running", "cancelling", "waitingtostart")]
    if running:
        return "Chaos Studio execution(s) still running: " + ", ".join(running)
    return ""


def rollback(work: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "flexchaos", "rollback", "--work-dir", str(work)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    return result, time.monotonic() - began


def run_trial(
    spec: TrialSpec, root: Path, *, time_scale: float = 0.05, next_run: bool = True
) -> TrialRecord:
    """One trial on a fresh emulator; never raises for what it measures (see the record)."""
    record = TrialRecord(spec={**asdict(spec), "fraction": spec.fraction})
    work = root / f"trial-{spec.index:02d}-{spec.experiment}-{spec.phase}"
    work.mkdir(parents=True, exist_ok=True)
    with RunningEmulator(time_scale=time_scale, log_path=work / "emulator.log") as emulator:
        target = FleetTarget.from_emulator(emulator.info)
        try:
            _run(spec, record, emulator, target, work, time_scale, next_run)
        except Exception as exc:  # recorded, so that one broken trial does not end the matrix
            record.error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return record


def _run(
    spec: TrialSpec,
    record: TrialRecord,
    emulator: RunningEmulator,
    target: FleetTarget,
    work: Path,
    scale: float,
    next_run: bool,
) -> None:
    _wait(lambda: not _settled_problem(target), 60, "the fleet to settle before the trial")
    ops = VmOps(target)
    settings = {
        i.name: ((ops.health_extension(i.name) or {}).get("properties") or {}).get("settings")
        for i in Inventory(target).instances()
    }
    journal = work / "journal.jsonl"
    harness = Harness(spec.experiment, emulator.info.arm_url, work)
    began = _trigger(spec, harness, journal, scale)
    if began is None or harness.process.poll() is not None:
        harness.process.kill()
        harness.wait(30)
        record.error = "the run ended before the seeded moment"
        return
    delay = spec.fraction * phase_span_s(spec, scale)
    time.sleep(max(0.0, began + delay - time.monotonic()))
    load = _locust_descendants(harness.process.pid)
    harness.process.send_signal(signal.SIGKILL)
    died = time.monotonic()
    harness.wait(30)
    record.killed, record.kill_delay_s = True, died - began
    record.load_processes = len(load)
    record.open_at_kill = [
        {"fault": e.fault, "vm": e.vm, "landed": e.landed_at is not None}
        for e in Journal(journal).open_entries()
    ]
    time.sleep(max(0.0, died + LOAD_GONE_AFTER_S - time.monotonic()))
    record.load_alive_after_5s = sum(_alive(pid, created) for pid, created in load)

    first, seconds = rollback(work)
    record.rollback_exit, record.rollback_s = first.returncode, seconds
    record.rollback_lines = (first.stdout + first.stderr).strip().splitlines()
    settle_began = time.monotonic()
    problem = _wait_quiet(lambda: restored(target, emulator, settings), RESTORE_TIMEOUT_S)
    record.restored, record.not_restored = not problem, problem
    record.restored_after_s = time.monotonic() - settle_began

    mark = time.time()
    second, _ = rollback(work)
    calls = [
        e for e in emulator.client.requests()["log"]
        if e["time"] >= mark and e["method"] in MUTATING
        and str(e["path"]).startswith("/subscriptions")
    ]  # fmt: skip
    record.second_exit, record.second_mutating_calls = second.returncode, len(calls)
    record.second_noop = (
        second.returncode == 0 and "nothing to roll back" in second.stdout and not calls
    )
    if next_run:
        nxt = Harness(spec.experiment, emulator.info.arm_url, work)
        nxt.wait(RUN_TIMEOUT_S)
        verdicts = json.loads((work / "verdicts.json").read_text())
        mine = [v for v in verdicts if v["experiment"] == spec.experiment]
        record.next_state = mine[0]["state"] if mine else "missing"
        record.next_reason = mine[0].get("reason", "") if mine else "\n".join(nxt.lines[-5:])
        if mine:
            record.next_baseline_error_rate = mine[0]["measured"].get("error_rate_baseline")


def clean_state(
    experiment: str, root: Path, time_scale: float = 0.05, index: int = 0
) -> dict[str, str]:
    """The verdict of an undisturbed run of the experiment on a fresh emulator."""
    work = root / f"reference-{experiment}-{index}"
    work.mkdir(parents=True, exist_ok=True)
    with RunningEmulator(time_scale=time_scale, log_path=work / "emulator.log") as emulator:
        target = FleetTarget.from_emulator(emulator.info)
        _wait(lambda: not _settled_problem(target), 60, "the fleet to settle")
        Harness(experiment, emulator.info.arm_url, work).wait(RUN_TIMEOUT_S)
    verdicts = json.loads((work / "verdicts.json").read_text())
    mine = [v for v in verdicts if v["experiment"] == experiment]
    return {"state": mine[0]["state"], "reason": mine[0].get("reason", "")}


def _settled_problem(target: FleetTarget) -> str:
    instances = Inventory(target).instances()
    return "" if instances and all(i.healthy for i in instances) else "not settled"


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def _wait_quiet(problem: Any, timeout: float) -> str:
    """Poll a check that returns "" when fine; the last problem if the deadline passes."""
    deadline = time.monotonic() + timeout
    last = problem()
    while last and time.monotonic() < deadline:
        time.sleep(0.2)
        last = problem()
    return str(last)
