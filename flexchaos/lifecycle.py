"""One experiment from preflight to postflight, as ../shared/DESIGN.md lays out its lifecycle.

    preflight → steady state → inject → hold (abort conditions) → revert → recover → judge
    → postflight

Data flows one way: the fleet injects through the SDK, the probes and Locust record what users
and the control plane saw, the timeline merges them, the metrics and the verdict are computed
from the timeline, and the report shows them. Faults are journaled before they are injected
and reverted in finally blocks and on SIGINT/SIGTERM (fleet.injector.Injector).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fleet.chaos_studio import ChaosRun, ChaosStudioShutdown
from fleet.evidence import Drift, drift, snapshot
from fleet.guard import GuardLimits
from fleet.injector import Injection, Injector
from fleet.inventory import Inventory
from fleet.journal import Journal
from fleet.plan import Plan, build_plan
from flexchaos.fleet_spec import Fleet
from flexchaos.observation import Observation
from flexchaos.scenario import Scenario
from probes.metrics import Metrics, compute_metrics
from probes.timeline import Timeline
from reports.targets import Targets
from reports.verdict import Verdict, VerdictRow, broken, judge

CAPACITY_TICK_PLATFORM_S = 5.0  # one inventory listing per tick; Azure's probe interval
MIN_CAPACITY_TICK_S = 0.1  # wall: never list faster than this
TAIL_S = 1.5  # wall seconds of traffic after recovery, so a disruption can be seen to end
CHAOS_STUDIO_FAULT = "chaos-shutdown"  # a VM shutdown run as an Azure Chaos Studio experiment


@dataclass(frozen=True)
class RunOptions:
    """How hard and where: load, journal, guard limits, output folder, dry run."""

    work_dir: Path
    journal: Path
    users: int = 8
    rps_per_user: float = 25.0
    seed: int | None = None
    dry_run: bool = False
    limits: GuardLimits = field(default_factory=GuardLimits)


@dataclass
class Outcome:
    """Everything an experiment produced, for the verdict, the report and the terminal."""

    scenario: Scenario
    plan: Plan | None = None
    injection: Injection | None = None
    timeline: Timeline | None = None
    metrics: Metrics | None = None
    verdict: Verdict | None = None
    evidence_before: dict[str, Any] | None = None
    evidence_after: dict[str, Any] | None = None
    drift: Drift | None = None
    load_dir: Path | None = None  # Locust's own output (stats CSV, JSON totals)
    aborted: str | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    work_dir: Path | None = None

    @property
    def vms(self) -> tuple[str, ...]:
        return self.plan.selected.names if self.plan else ()

    @property
    def seed(self) -> int | None:
        return self.plan.selected.seed if self.plan else None


class Experiment:
    """Runs one scenario against one fleet and returns its Outcome (verdict included)."""

    def __init__(
        self,
        scenario: Scenario,
        fleet: Fleet,
        targets: Targets,
        options: RunOptions,
        write: Callable[[str], None] = print,
        step: Callable[[str], AbstractContextManager[Any]] = lambda title: nullcontext(),
    ) -> None:
        self.step = step
        self.scenario = scenario
        self.fleet = fleet
        self.targets = targets
        self.options = options
        self.write = write
        self.work_dir = (options.work_dir / scenario.name).resolve()
        self.outcome = Outcome(scenario, work_dir=self.work_dir)
        self._inventory = Inventory(fleet.target)
        self._baseline_count = 0
        self._chaos: ChaosStudioShutdown | None = None
        self._chaos_run: ChaosRun | None = None

    # -- the lifecycle ---------------------------------------------------------------------------
    def run(self) -> Outcome:
        # A fresh folder: request logs of an earlier run must never join this run's timeline.
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with self.step("Preflight: scale set, plan, guard, evidence (read-only)"):
            self.preflight()
        if self.options.dry_run:
            return self.dry_run()
        with self.observe() as observation:
            progress = observation.progress
            with self.step("Steady state: baseline load and hypothesis check"):
                progress.set_phase("baseline")
                self.wait_wall(self.fleet.wall(self.scenario.baseline_s))
                self.check_steady_state()
            with Injector(
                self.fleet.target, Journal(self.options.journal), self.options.limits,
                run=f"{self.scenario.name}-{int(time.time())}",
            ) as injector:  # fmt: skip
                with self.step(f"Inject: {self.scenario.fault} (journaled first)"):
                    progress.set_phase("inject")
                    self.inject(injector)
                with self.step("Hold and observe (abort conditions every tick)"):
                    progress.set_phase("hold")
                    self.hold()
                if not self.scenario.platform_heals:
                    with self.step("Revert what the harness did"):
                        progress.set_phase("revert")
                        self.revert(injector)
                # Inside the injector: a platform-heals scenario's fault stays in while the
                # platform repairs it; whatever is still open afterwards is reverted on exit.
                with self.step("Recover: wait for full healthy capacity"):
                    progress.set_phase("recover")
                    self.recover()
            progress.set_phase("tail")
            self.wait_wall(TAIL_S)
        with self.step("Judge: metrics from the timeline against the targets"):
            self.judge()
        with self.step("Postflight: evidence and drift"):
            self.postflight()
        return self.outcome

    def preflight(self) -> None:
        """Read-only: resolve and check the scale set, plan (the guard runs here), evidence."""
        self._inventory.scale_set()  # missing or Uniform: one clear error, nothing touched
        selection = self.scenario.selection
        if self.options.seed is not None and selection.seed is None:
            selection = replace(selection, seed=self.options.seed)
        plan = build_plan(
            self.fleet.target, self.planned_fault, selection, self.planned_options,
            self.options.limits, inventory=self._inventory,
        )  # fmt: skip
        self.outcome.plan = plan
        if plan.refusal is not None:
            raise plan.refusal
        self._selection = selection.__class__(
            names=plan.selected.names, seed=plan.selected.seed
        )  # inject exactly the VMs the plan names
        self.outcome.evidence_before = snapshot(self.fleet.target, inventory=self._inventory)
        self._baseline_count = len(self.outcome.evidence_before["vms"])

    def dry_run(self) -> Outcome:
        """Print the plan and run only the probes for the baseline window; mutate nothing."""
        assert self.outcome.plan is not None
        self.write(self.outcome.plan.text())
        if self.chaos_studio:
            self.write("  through Chaos Studio instead of the calls above:")
            for call in self._chaos_studio().calls(
                self.outcome.plan.selected.names, self.scenario.hold_s, self.abrupt
            ):
                self.write(f"    {call}")
        with self.observe() as observation:
            progress = observation.progress
            progress.set_phase("dry-run")
            self.wait_wall(self.fleet.wall(self.scenario.baseline_s))
        self.outcome.timeline = self.build_timeline()
        return self.outcome

    def check_steady_state(self) -> None:
        """Full healthy capacity and a baseline error rate under its limit, or no fault at all."""
        capacity = self._observation.capacity.frame()
        problems = []
        if capacity.empty:
            problems.append("no capacity sample was taken")
        else:
            last = capacity[capacity["time"] == capacity["time"].max()]
            healthy = int(last["healthy"].sum())
            if healthy < self._baseline_count:
                problems.append(f"healthy capacity {healthy}/{self._baseline_count} is not full")
        requests = self._observation.requests()
        limit = self.targets.limits.get("max_error_rate", 0.01)
        if requests.empty:
            problems.append("no request was answered during the baseline")
        else:
            rate = 1.0 - float(requests["ok"].astype(bool).mean())
            if rate > limit:
                problems.append(f"baseline error rate {rate:.1%} is over {limit:.1%}")
        if problems:
            self.outcome.verdict = broken(
                self.targets, "steady state did not hold: " + "; ".join(problems),
                time_scale=self.fleet.time_scale,
            )  # fmt: skip
            self.event("abort", detail="steady state did not hold")

    def inject(self, injector: Injector) -> None:
        if self.outcome.verdict is not None:  # broken steady state: never inject
            return
        if self.chaos_studio:
            self.inject_chaos_studio()
            return
        self.event("inject", vm=",".join(self._selection.names))
        self.outcome.injection = injector.inject(
            self.scenario.fault, self._selection, **self.scenario.options
        )
        self.event("injected", vm=",".join(self.outcome.injection.vms))

    def hold(self) -> None:
        """Observe for the hold time; abort conditions end it early."""
        if self._chaos_run is not None:
            self.hold_chaos_studio()
            return
        if self.outcome.injection is None:
            return
        deadline = time.monotonic() + self.fleet.wall(self.scenario.hold_s)
        tick = self._observation.tick_s
        while time.monotonic() < deadline:
            reason = self.abort_reason()
            if reason:
                self.outcome.aborted = reason
                self.event("abort", detail=reason)
                self.write(f"  [{self.scenario.name}] abort: {reason}")
                return
            time.sleep(min(tick, max(0.0, deadline - time.monotonic())))

    def abort_reason(self) -> str | None:
        probe = self._observation.traffic.frame()
        window = probe[probe["start"] >= time.time() - max(1.0, self.fleet.wall(10))]
        if len(window) >= 10:
            rate = 1.0 - float(window["ok"].astype(bool).mean())
            if rate > self.scenario.abort_error_rate:
                return f"error rate {rate:.0%} over {self.scenario.abort_error_rate:.0%}"
        capacity = self._observation.capacity.frame()
        if not capacity.empty and self._baseline_count:
            last = capacity[capacity["time"] == capacity["time"].max()]
            healthy = int(last["healthy"].sum()) / self._baseline_count
            if healthy < self.scenario.abort_capacity_floor:
                return (
                    f"healthy capacity {healthy:.0%} under the floor "
                    f"{self.scenario.abort_capacity_floor:.0%}"
                )
        return None

    def revert(self, injector: Injector) -> None:
        if self._chaos_run is not None:
            return  # Chaos Studio ends its own fault; hold_chaos_studio waited for it
        if self.outcome.injection is None:
            return
        self.event("revert")
        injector.revert(self.outcome.injection)
        self.event("reverted")

    def recover(self) -> None:
        """Wait until healthy capacity is back to baseline, or the recovery limit passes."""
        if self.outcome.injection is None and self._chaos_run is None:
            return
        deadline = time.monotonic() + self.fleet.wall(self.scenario.recovery_limit_s)
        capacity = self._observation.capacity
        while time.monotonic() < deadline:
            # Through the capacity probe, so the sample that shows recovery is in the timeline
            # (the recovery metric reads the timeline, whatever the probe's own tick).
            capacity.sample()
            frame = capacity.frame()
            last = frame[frame["time"] == frame["time"].max()] if not frame.empty else frame
            if not last.empty and int(last["healthy"].sum()) >= self._baseline_count:
                self.event("recovered")
                return
            time.sleep(self._observation.tick_s)
        self.write(
            f"  [{self.scenario.name}] not recovered within "
            f"{self.scenario.recovery_limit_s:.0f} platform s"
        )

    def judge(self) -> None:
        timeline = self.build_timeline()
        self.outcome.timeline = timeline
        timeline.write(self.work_dir / "timeline")
        if self.outcome.verdict is not None:  # broken: nothing to judge
            return
        metrics = compute_metrics(
            timeline,
            baseline_instances=self._baseline_count,
            platform_heals=self.scenario.platform_heals,
        )
        self.outcome.metrics = metrics
        verdict = judge(self.targets, metrics.as_measurements(), time_scale=self.fleet.time_scale)
        if self.outcome.aborted:  # a safety stop: the hypothesis was not tested for its hold
            verdict = verdict.with_failed_row(
                VerdictRow(
                    "abort_conditions", "aborts", "<=", 0.0, 1.0, "", False,
                    reason=f"hold aborted: {self.outcome.aborted}",
                )
            )  # fmt: skip
        self.outcome.verdict = verdict

    def postflight(self) -> None:
        """Second evidence snapshot and the drift from the first."""
        after = snapshot(self.fleet.target, inventory=self._inventory)
        self.outcome.evidence_after = after
        if self.outcome.evidence_before is not None:
            self.outcome.drift = drift(self.outcome.evidence_before, after)

    # -- Chaos Studio: the service injects and ends the fault -----------------------------------
    @property
    def chaos_studio(self) -> bool:
        return self.scenario.fault == CHAOS_STUDIO_FAULT

    @property
    def planned_fault(self) -> str:
        """A Chaos Studio shutdown is planned and guarded as the stop it performs."""
        return "stop" if self.chaos_studio else self.scenario.fault

    @property
    def planned_options(self) -> dict[str, Any]:
        if self.chaos_studio:
            return {"skip_shutdown": self.abrupt}
        return self.scenario.options

    @property
    def abrupt(self) -> bool:
        return bool(self.scenario.options.get("abrupt", False))

    def _chaos_studio(self) -> ChaosStudioShutdown:
        return ChaosStudioShutdown(
            self.fleet.target, Journal(self.options.journal), self.options.limits,
            run=self.scenario.name, handle_signals=False,
        )  # fmt: skip

    def inject_chaos_studio(self) -> None:
        self._chaos = self._chaos_studio()
        self.event("inject", vm=",".join(self._selection.names))
        self._chaos_run = self._chaos.start(
            list(self._selection.names), self.scenario.hold_s, self.abrupt
        )
        self.event(
            "injected", vm=",".join(self._chaos_run.vms), detail=self._chaos_run.execution_id
        )

    def hold_chaos_studio(self) -> None:
        """Watch the execution until it ends; an abort condition cancels it."""
        assert self._chaos is not None and self._chaos_run is not None
        deadline = time.monotonic() + self.fleet.wall(self.scenario.hold_s) + 60
        status = ""
        try:
            while time.monotonic() < deadline:
                status = self._chaos.status(self._chaos_run)
                if status.lower() not in ("running", "preprocessingqueued", "waitingtostart"):
                    break
                reason = self.abort_reason()
                if reason:
                    self.outcome.aborted = reason
                    self.event("abort", detail=reason)
                    self.write(f"  [{self.scenario.name}] abort: {reason}; cancelling")
                    break
                time.sleep(self._observation.tick_s)
            ended_at = time.time()
            result = (
                self._chaos.cancel(self._chaos_run)
                if self.outcome.aborted or time.monotonic() >= deadline
                else self._chaos.wait(self._chaos_run)
            )
        except BaseException:
            self._chaos.cancel(self._chaos_run)
            raise
        # The service's revert is when it starts the VMs again: seen in the capacity samples
        # (the execution reads Running until they are back, so its status cannot tell).
        restarted = self.restart_seen(set(self._chaos_run.vms), self._chaos_run.requested_at)
        self.event(
            "revert", at=restarted or ended_at,
            detail="Chaos Studio started the VMs" if restarted else f"execution {status}",
        )  # fmt: skip
        self.event("reverted", detail=f"Chaos Studio execution {result.status}")
        self.write(f"  [{self.scenario.name}] Chaos Studio execution ended: {result.status}")

    # -- observation -----------------------------------------------------------------------------
    def observe(self) -> Observation:
        """Locust, the traffic probe, the capacity probe and live progress, for this run."""
        budget = self.scenario.baseline_s + self.scenario.hold_s + self.scenario.recovery_limit_s
        self._observation = Observation(
            name=self.scenario.name,
            lb_url=self.fleet.lb_url,
            instances=self._inventory.instances,
            capacity_tick_s=max(MIN_CAPACITY_TICK_S, self.fleet.wall(CAPACITY_TICK_PLATFORM_S)),
            users=self.options.users,
            rps_per_user=self.options.rps_per_user,
            max_run_time_s=self.fleet.wall(budget),
            work_dir=self.work_dir,
            time_scale=self.fleet.time_scale,
            write=self.write,
        )
        self.outcome.load_dir = self._observation.load.workdir
        return self._observation

    def build_timeline(self) -> Timeline:
        return self._observation.timeline(self.outcome.events)

    def restart_seen(self, vms: set[str], since: float) -> float | None:
        """The first capacity sample after `since` that shows one of `vms` starting again
        after it was seen down; None when the samples do not show it."""
        frame = self._observation.capacity.frame()
        frame = frame[(frame["time"] >= since) & frame["instance"].isin(vms)]
        down = frame[~frame["running"].astype(bool)]
        if down.empty:
            return None
        back = frame[
            (frame["time"] > down["time"].min())
            & frame["power_state"].isin(["starting", "running"])
        ]
        return float(back["time"].min()) if not back.empty else None

    def event(
        self, kind: str, vm: str | None = None, detail: str | None = None, at: float | None = None
    ) -> None:
        self.outcome.events.append(
            {"time": time.time() if at is None else at, "kind": kind,
             "fault": self.scenario.fault, "vm": vm, "detail": detail}
        )  # fmt: skip

    @staticmethod
    def wait_wall(seconds: float) -> None:
        """Let the fleet and the probes run for a wall duration (bounded by its argument)."""
        time.sleep(max(0.0, seconds))
