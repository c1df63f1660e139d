"""One experiment from preflight to postflight, as docs/design.md lays out its lifecycle.

    preflight → steady state → inject → hold (abort conditions) → revert → recover → judge
    → postflight

Data flows one way: the fleet injects through the SDK, the probes and Locust record what users
and the control plane saw, the timeline merges them, the metrics and the verdict are computed
from the timeline, and the report shows them. Faults are journaled before they are injected
and reverted in finally blocks and on SIGINT/SIGTERM (fleet.injector.Injector). The lifecycle
knows no fault by name: every fault, Chaos Studio's included, goes through the injector and the
interface of fleet/faults/base.py (plan, inject, hold, revert, prove, reverted_at).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fleet.budget import fault_calls_wall_s
from fleet.evidence import drift, snapshot
from fleet.faults import Proof, Seen
from fleet.guard import GuardLimits, require_flexible
from fleet.injector import Injector
from fleet.inventory import Inventory
from fleet.journal import Journal
from fleet.lease import Lease
from fleet.operations import default_timeout
from fleet.plan import build_plan
from fleet.selection import Selection
from flexchaos.errors import AzureCallFailed, BadInput, FlexchaosError, NotFound
from flexchaos.fleet_spec import Fleet
from flexchaos.input_checks import check_against_fleet
from flexchaos.observation import Observation, capacity_tick
from flexchaos.outcome import Outcome
from flexchaos.scenario import Scenario
from load.registry import LoadRegistry, registry_beside
from probes.measures import ERROR_RATE
from probes.metrics import compute_metrics
from probes.probe_settings import ProbeSettings
from probes.timeline import Timeline
from reports.targets import Targets
from reports.verdict import VerdictRow, inconclusive, judge

TAIL_S = 1.5  # wall s of traffic after recovery (or 2 quiet windows): a disruption seen to end


@dataclass(frozen=True)
class RunOptions:
    """How hard and where: load, journal, guard limits, output folder, dry run."""

    work_dir: Path
    journal: Path
    users: int = 20  # flexchaos.settings.DEFAULT_USERS: sized so the game day is fully judged
    rps_per_user: float = 25.0
    seed: int | None = None
    dry_run: bool = False
    limits: GuardLimits = field(default_factory=GuardLimits)


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
        lease: Lease | None = None,
    ) -> None:
        self.step = step
        # One run per scale set (fleet/lease.py): a game day passes the session's lease, held
        # from its first experiment to its end; alone, the experiment holds its own.
        self.lease = lease or Lease(fleet.target, say=write)
        self._own_lease = lease is None
        self.scenario = scenario
        self.fleet = fleet
        self.targets = targets
        self.options = options
        self.write = write
        self.work_dir = (options.work_dir / scenario.name).resolve()
        self.run_id = f"{scenario.name}-{time.time_ns():x}"  # in its journal entries, Locust's dir
        self.outcome = Outcome(scenario, work_dir=self.work_dir)
        self._inventory = Inventory(fleet.target)
        self._baseline_count = 0
        self._probe = ProbeSettings()  # the load balancer's, read at preflight

    def run(self) -> Outcome:
        try:
            return self._run()
        finally:
            if self._own_lease:
                self.lease.release()

    def _run(self) -> Outcome:
        # A fresh folder: request logs of an earlier run must never join this run's timeline.
        shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with self.step("Preflight: lease, scale set, plan, guard, evidence (read-only)"):
            try:
                self.preflight()
            except BadInput:
                raise
            except AzureCallFailed as exc:  # a scale set not there is bad input; a 500 is not
                if not isinstance(exc, NotFound):
                    raise
                raise BadInput(str(exc)) from exc
            except FlexchaosError as exc:  # the target or the request is wrong: nothing touched
                raise BadInput(str(exc)) from exc
        if self.options.dry_run:
            return self.dry_run()
        with self.step("Lease: one run per scale set (tag written with the set's ETag)"):
            self.lease.acquire(Journal(self.options.journal))  # journaled, then the tag
        with self.observe() as observation:
            progress = observation.progress
            with self.step("Steady state: baseline load and hypothesis check"):
                progress.set_phase("baseline")
                self.wait_wall(self.fleet.wall(self.scenario.baseline_s))
                self.check_steady_state()
            with Injector(
                self.fleet.target, Journal(self.options.journal), self.options.limits,
                run=self.run_id,
            ) as injector:  # fmt: skip
                with self.step(f"Inject: {self.scenario.fault} (journaled first)"):
                    progress.set_phase("inject")
                    self.inject(injector)
                with self.step("Hold and observe (abort conditions every tick)"):
                    progress.set_phase("hold")
                    self.hold(injector)
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
            self.wait_wall(max(TAIL_S, 2 * self._probe.wall_quiet_window(self.fleet.clock)))
        with self.step("Judge: metrics from the timeline against the targets"):
            self.judge()
        with self.step("Postflight: evidence and drift"):
            self.postflight()
        return self.outcome

    def preflight(self) -> None:
        """Read-only: no other run's lease, then resolve and check the scale set, plan (the guard
        runs here, a preview: it runs again under the lease right before the injection),
        evidence."""
        scale_set = self._inventory.scale_set()  # missing: one clear error
        if not self.options.dry_run:
            self.lease.check()  # another run holds the set: refused before the guard reads
        require_flexible(scale_set)  # Uniform: refused
        selection = self.scenario.selection
        if self.options.seed is not None and selection.seed is None:
            selection = replace(selection, seed=self.options.seed)
        plan = build_plan(
            self.fleet.target, self.scenario.fault, selection, self.scenario.options,
            self.options.limits, hold_s=self.scenario.hold_s, inventory=self._inventory,
        )  # fmt: skip
        self.outcome.plan = plan
        chosen = ", ".join(plan.selected.names) or "no VM"
        self.write(f"  [{self.scenario.name}] seed {plan.selected.seed}: {chosen} chosen")
        if plan.refusal is not None:
            raise plan.refusal
        self.outcome.evidence_before = snapshot(self.fleet.target, inventory=self._inventory)
        self._baseline_count = len(self.outcome.evidence_before["vms"])
        check_against_fleet(self.targets, self.scenario.hypothesis, self.outcome.evidence_before)
        self._probe = ProbeSettings.from_evidence(self.outcome.evidence_before)

    def dry_run(self) -> Outcome:
        """Print the plan and run only the probes for the baseline window; mutate nothing."""
        assert self.outcome.plan is not None
        self.write(self.outcome.plan.text())
        with self.observe() as observation:
            observation.progress.set_phase("dry-run")
            self.wait_wall(self.fleet.wall(self.scenario.baseline_s))
        self.outcome.timeline = self.build_timeline()
        return self.outcome

    def check_steady_state(self) -> None:
        """Full healthy capacity and a baseline error rate under its limit, or no fault at all."""
        capacity = self._observation.capacity_frame()  # waits for a listing still in flight
        problems = []
        if capacity.empty:
            problems.append("no capacity sample was taken")
        else:
            last = capacity[capacity["time"] == capacity["time"].max()]
            healthy = int(last["healthy"].sum())
            if healthy < self._baseline_count:
                problems.append(f"healthy capacity {healthy}/{self._baseline_count} is not full")
        requests = self._observation.requests()
        limit = self.targets.limits.get(str(ERROR_RATE.target), 0.01)
        if requests.empty:
            problems.append("no request was answered during the baseline")
        else:
            rate = 1.0 - float(requests["ok"].astype(bool).mean())
            if rate > limit:
                problems.append(f"baseline error rate {rate:.1%} is over {limit:.1%}")
        if problems:
            reason = "steady state did not hold (no fault injected): " + "; ".join(problems)
            self.outcome.verdict = inconclusive(
                self.targets, reason, time_scale=self.fleet.time_scale
            )
            self.event("abort", detail="steady state did not hold")

    def inject(self, injector: Injector) -> None:
        """Inject exactly the plan that preflight built and showed (the guard runs again)."""
        if self.outcome.verdict is not None:  # broken steady state: never inject
            return
        assert self.outcome.plan is not None
        plan = build_plan(
            self.fleet.target, self.scenario.fault, self.planned_selection(),
            self.scenario.options, self.options.limits, hold_s=self.scenario.hold_s,
            inventory=self._inventory,
        )  # fmt: skip
        injection = injector.inject(plan)
        self.outcome.injection = injection
        # the failover clock starts when the platform accepted the injecting call (sent: detail)
        self.event("inject", vm=",".join(injection.vms), at=injection.clock_start,
                   detail=injection.sent_note())  # fmt: skip
        for vm, accepted in injection.accepted_by_vm().items():  # each VM's own clock
            self.event("accepted", vm=vm, at=accepted)
        outcomes = "; ".join(injection.outcomes.values())
        self.event("injected", vm=",".join(injection.vms), detail=outcomes)

    def planned_selection(self) -> Selection:
        """The VMs the preflight plan named, by name (the seed is kept for the record)."""
        assert self.outcome.plan is not None
        selected = self.outcome.plan.selected
        return Selection(names=selected.names, seed=selected.seed)

    def hold(self, injector: Injector) -> None:
        """Observe for the hold time (or until the fault ends by itself); abort conditions end
        it early."""
        injection = self.outcome.injection
        if injection is None:
            return
        end = injector.hold(
            injection, self.fleet.wall(self.scenario.hold_s), self._observation.tick_s,
            self.abort_reason,
        )  # fmt: skip
        landed = injector.landed_at(injection)  # a service that queued the fault: its clock
        inject = next(e for e in self.outcome.events if e["kind"] == "inject")
        if landed is not None and landed > inject["time"]:
            inject.update(time=landed, detail=f"sent {landed - inject['time']:.3f} s wall before")
        if end.aborted:
            self.outcome.aborted = end.aborted
            self.event("abort", detail=end.aborted)
            self.write(f"  [{self.scenario.name}] abort: {end.aborted}")
        elif end.detail:
            self.write(f"  [{self.scenario.name}] {end.detail}")

    def abort_reason(self) -> str | None:
        if self.lease.lost:  # another run may act on the set now: stop and revert
            return self.lease.lost
        window = self._observation.traffic.recent(time.time() - max(1.0, self.fleet.wall(10)))
        if len(window) >= 10:
            rate = 1.0 - float(window["ok"].astype(bool).mean())
            if rate > self.scenario.abort_error_rate:
                return f"error rate {rate:.0%} over {self.scenario.abort_error_rate:.0%}"
        injection = self.outcome.injection  # only a sample since the fault counts (None: unknown)
        healthy_vms = self._observation.healthy_since(injection.requested_at if injection else 0)
        if healthy_vms is not None and self._baseline_count:
            healthy = healthy_vms / self._baseline_count
            if healthy < self.scenario.abort_capacity_floor:
                return (
                    f"healthy capacity {healthy:.0%} under the floor "
                    f"{self.scenario.abort_capacity_floor:.0%}"
                )
        return None

    def revert(self, injector: Injector) -> None:
        injection = self.outcome.injection
        if injection is None:
            return
        at = injector.reverted_at(injection, self.seen())  # a fault that ended by itself
        self.event("revert", at=at)
        results = injector.revert(injection)
        self.event("reverted", detail="; ".join(r.outcome for r in results) or None)

    def recover(self) -> None:
        """Wait until healthy capacity is back to baseline, or the recovery limit passes."""
        if self.outcome.injection is None:
            return
        deadline = time.monotonic() + self.fleet.wall(self.scenario.recovery_limit_s)
        asked = time.time()
        while time.monotonic() < deadline:
            # A sample answered since the last look (a failed listing leaves an older one, maybe
            # pre-fault): one taken now, or the probe's next when the List VMs budget is spent.
            healthy = self._observation.healthy_now(asked)
            asked = time.time()
            if healthy is not None and healthy >= self._baseline_count:
                self.event("recovered")
                return
            time.sleep(self._observation.tick_s)
        # Whatever the samples show after this (the harness's own cleanup, say) is not the
        # recovery the experiment waited for: the metric stops looking here.
        self.event("not_recovered", detail=f"{self.scenario.recovery_limit_s:g} platform s")
        self.write(
            f"  [{self.scenario.name}] not recovered within "
            f"{self.scenario.recovery_limit_s:.0f} platform s"
        )

    def judge(self) -> None:
        timeline = self.build_timeline()
        self.outcome.timeline = timeline
        timeline.write(self.work_dir / "timeline")
        # Measured even when broken: the chart and the probes' diagnostics explain the verdict.
        metrics = compute_metrics(
            timeline, probe=self._probe, clock=self.fleet.clock,
            baseline_instances=self._baseline_count, platform_heals=self.scenario.platform_heals,
            diagnostics=self._observation.diagnostics(),
        )  # fmt: skip
        self.outcome.metrics = metrics
        if self.outcome.verdict is not None:  # steady state broken: nothing to judge
            return
        proof = self.outcome.proof = self.prove()
        landed = "fault landed" if proof.proved else "fault NOT shown to have landed"
        self.write(f"  [{self.scenario.name}] {landed}: {proof.evidence}")
        verdict = judge(self.targets, metrics.as_measurements(), time_scale=self.fleet.time_scale,
                        not_judged=metrics.not_judged, details=metrics.details())  # fmt: skip
        if self.outcome.aborted:  # a safety stop: the hypothesis was not tested for its hold
            verdict = verdict.with_failed_row(
                VerdictRow(
                    "abort_conditions", "aborts", "<=", 0.0, 1.0, "", False,
                    reason=f"hold aborted: {self.outcome.aborted}",
                )
            )  # fmt: skip
        if not proof.proved:  # no target may pass on a fault that was not exercised
            verdict = verdict.as_inconclusive(f"fault not exercised: {proof.evidence}")
        self.outcome.verdict = verdict

    def prove(self) -> Proof:
        """What the observations show about the fault (no injection: nothing was exercised)."""
        injection = self.outcome.injection
        if injection is None:
            return Proof(False, "no fault was injected")
        return injection.fault.prove(injection, self.seen())

    def postflight(self) -> None:
        """Second evidence snapshot and the drift from the first. Read-only and after the
        verdict: a control plane that fails now costs the drift, not the verdict."""
        try:
            after = snapshot(self.fleet.target, inventory=self._inventory)
        except AzureCallFailed as exc:
            self.write(f"  [{self.scenario.name}] no postflight evidence (no drift): {exc}")
            return
        self.outcome.evidence_after = after
        if self.outcome.evidence_before is not None:
            self.outcome.drift = drift(self.outcome.evidence_before, after)

    def observe(self) -> Observation:
        """Locust, the traffic probe, the capacity probe and live progress, for this run."""
        budget = self.scenario.baseline_s + self.scenario.hold_s + self.scenario.recovery_limit_s
        vms = len(self.outcome.plan.selected.names) if self.outcome.plan else 0
        calls_wall = fault_calls_wall_s(  # a bound: they are stopped at the end
            vms, self.fleet.time_scale, default_timeout(self.fleet.target)
        )
        probe_wall = self._probe.wall_interval(self.fleet.clock)  # and the List VMs budget:
        tick = capacity_tick(probe_wall, self._inventory.pages, self.fleet.time_scale)
        self._observation = Observation(
            name=self.scenario.name, lb_url=self.fleet.lb_url, target=self.fleet.target,
            capacity_tick_s=tick, listing_pages=self._inventory.pages,
            users=self.options.users, rps_per_user=self.options.rps_per_user,
            max_run_time_s=self.fleet.wall(budget) + calls_wall,
            work_dir=self.work_dir, time_scale=self.fleet.time_scale, write=self.write,
            registry=LoadRegistry(registry_beside(self.options.journal), self.run_id),
        )  # fmt: skip
        self.outcome.load_dir = self._observation.load.workdir
        return self._observation

    def build_timeline(self) -> Timeline:
        return self._observation.timeline(self.outcome.events)

    def seen(self) -> list[Seen]:
        """The capacity samples as the faults read them (flexchaos.observation)."""
        return self._observation.seen(set((self.outcome.evidence_before or {}).get("vms", {})))

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
