"""The evidence behind each figure, and the gaps that keep a figure from being judged.

A figure is only as good as the samples under it. A healthy-capacity minimum read from listings
that stopped for a minute says nothing about that minute; a failover of 0 s read from traffic
so thin that no new flow reached the VM while it went away says nothing about failover; an
error rate read after Locust crashed rests on the 50 Hz probe alone. So each figure states what
it rests on, and a gap in it makes the figure **not judged** (`Evidence.not_judged()`, fed to
`reports.verdict.judge(..., not_judged=)`): a gate must never pass on missing evidence.

All of it is measured over the **fault window** — the first injection until healthy capacity is
back at baseline, or until the end of the observation when it never came back — against one
probe interval of the load balancer (`probes.probe_settings`), in platform seconds:
- capacity: a sample at least once per probe interval, the injection and the window's end
  included (a failed listing is no sample) — or, for a fleet whose listing Compute's budget
  allows only once per interval or less, once per 1.5 planned listing ticks;
- traffic: no stretch of a probe interval without any request, and enough new flows to each
  target VM per probe interval to see one interval of misrouting — unless the load balancer's
  own routing showed every target VM leave rotation (each within one probe interval's span):
  the failover figure then runs to those changes (probes/failover.py), the last moment a new
  flow could reach a target VM, and per-VM traffic adds nothing to it. That is what makes a
  large fleet judgeable: at 1000 VMs no load generator sends 15 flows to each VM every 5 s;
- Locust: a normal exit, its own totals agreeing with its request log, and its traffic kept up
  through the fault window;
- routing (detection time): the routing sample that first shows a target VM out of rotation
  comes at most one probe interval after the sample before it (or the call's acceptance) — a
  throttled or failing health query stretches that span, and the detection time read at its
  end could be that much too long.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from probes.diagnostics import Diagnostics, LocustExit
from probes.measures import (
    DETECTION_TIME,
    ERROR_RATE,
    FAILOVER_TIME,
    HEALTHY_CAPACITY,
    LATENCY,
    RECOVERY_TIME,
    Clock,
)
from probes.phases import FailoverPhases
from probes.probe_settings import ProbeSettings
from probes.routing_evidence import RoutingEvidence, routing_evidence
from probes.timeline import Timeline

# New flows to one target VM per probe interval below which failover is not judged. The last
# flow the balancer sends to a dead VM starts before the probe marks it down by an exponential
# gap of mean interval / n; its 95th percentile, ln(20) / n intervals, stays within a fifth of a
# probe interval (the accuracy bench/bench_failover_accuracy.py holds the harness to) for n ≥ 15.
MIN_FLOWS_PER_VM_PER_INTERVAL = 15.0
# A fleet whose listing Compute's List VMs budget allows less often than three times a probe
# interval (fleet/budget.py: a 1000-VM set, once per interval) is sampled at that pace; its
# capacity is then judged with gaps of up to 1.5 planned ticks (a late tick, not a missed one).
CAPACITY_TICK_SLACK = 1.5
LOCUST_TOTALS_TOLERANCE = 0.1  # Locust's own total and its request log may differ by 10 %
LOCUST_MIN_RATE_SHARE = 0.5  # Locust's rate in the fault window, of its baseline rate


@dataclass(frozen=True)
class FaultWindow:
    """First injection → healthy capacity back at baseline (or the end of the observation)."""

    start: float
    end: float
    recovered: bool

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class CapacityEvidence:
    """Capacity samples in the fault window: how many, and the longest stretch without one."""

    samples: int
    largest_gap_s: float  # wall; the injection and the window's end count as boundaries
    failed_listings: int  # failed listings in the window (each one is a missing sample)
    interval_s: float  # wall: the longest gap allowed (one probe interval, or see the slack)

    def gap(self, clock: Clock) -> str | None:
        if self.largest_gap_s <= self.interval_s:
            return None
        failed = (
            f"; {_count(self.failed_listings, 'listing')} failed" if self.failed_listings else ""
        )
        return (
            f"no capacity sample for {_platform(self.largest_gap_s, clock)} between injection "
            f"and recovery (more than the {_platform(self.interval_s, clock)} allowed)"
            f"{failed}"
        )

    def describe(self, clock: Clock) -> str:
        return (
            f"{_count(self.samples, 'capacity sample')} in the fault window, largest gap "
            f"{_platform(self.largest_gap_s, clock)} (at most "
            f"{_platform(self.interval_s, clock)}), "
            f"{_count(self.failed_listings, 'failed listing')}"
        )


@dataclass(frozen=True)
class TrafficEvidence:
    """Requests in the fault window, as new flows per target VM per probe interval."""

    requests: int
    flows_per_vm_per_interval: float  # all requests' rate × a VM's even share × one interval
    largest_gap_s: float  # wall, between request starts (window boundaries included)
    interval_s: float  # wall
    # the load balancer's routing showed every target VM leave rotation, each within a probe
    # interval's span: the failover figure runs to those changes whatever the per-VM traffic
    removal_seen: bool = False

    def gap(self, clock: Clock) -> str | None:
        thin = self.flows_per_vm_per_interval < MIN_FLOWS_PER_VM_PER_INTERVAL
        if thin and not self.removal_seen:
            return (
                f"too little traffic to see a probe interval: "
                f"{self.flows_per_vm_per_interval:.1f} new flows per target VM per probe "
                f"interval during the fault (at least {MIN_FLOWS_PER_VM_PER_INTERVAL:g} needed; "
                "raise --users)"
            )
        if self.largest_gap_s > self.interval_s:
            return (
                f"no request for {_platform(self.largest_gap_s, clock)} during the fault (more "
                f"than one probe interval, {_platform(self.interval_s, clock)})"
            )
        return None

    def describe(self, clock: Clock) -> str:
        flows = f"{self.flows_per_vm_per_interval:.1f} new flows per target VM per probe interval"
        if self.flows_per_vm_per_interval < MIN_FLOWS_PER_VM_PER_INTERVAL and self.removal_seen:
            flows += (
                f" (under {MIN_FLOWS_PER_VM_PER_INTERVAL:g}: failover judged from the load "
                "balancer's routing, which showed every target VM leave rotation)"
            )
        else:
            flows += f" (at least {MIN_FLOWS_PER_VM_PER_INTERVAL:g})"
        return (
            f"{self.requests:,} requests in the fault window, {flows}, "
            f"largest gap {_platform(self.largest_gap_s, clock)}"
        )


@dataclass(frozen=True)
class LocustEvidence:
    """Locust's own account against its request log and the run's duration."""

    exit: LocustExit | None  # None: its result was not collected
    logged: int  # Locust's requests in the timeline
    window_rate: float | None  # Locust requests per wall second in the fault window
    baseline_rate: float | None  # ... before the injection
    stopped_early_s: float  # wall: its last request before the window's end (0: it kept on)
    interval_s: float

    def gap(self, clock: Clock) -> str | None:
        if self.exit is None:
            return "Locust's exit and totals were not collected"
        if not self.exit.normal_exit:
            return (
                f"Locust ended abnormally (exit {self.exit.exit_code}): its traffic may have "
                "stopped mid-run"
            )
        total = self.exit.total_requests
        if total is None:
            return "Locust wrote no totals: its request log cannot be checked"
        if abs(total - self.logged) > LOCUST_TOTALS_TOLERANCE * max(total, self.logged, 1):
            return f"Locust counted {total:,} requests but its request log holds {self.logged:,}"
        if self.stopped_early_s > self.interval_s:
            return (
                f"Locust's traffic stopped {_platform(self.stopped_early_s, clock)} before the "
                "fault window ended"
            )
        if (
            self.window_rate is not None
            and self.baseline_rate
            and self.window_rate < LOCUST_MIN_RATE_SHARE * self.baseline_rate
        ):
            return (
                f"Locust's traffic fell to {self.window_rate / self.baseline_rate:.0%} of its "
                "baseline rate during the fault"
            )
        return None

    def describe(self) -> str:
        exit_text = "not collected" if self.exit is None else self.exit.describe()
        rates = ""
        if self.window_rate is not None and self.baseline_rate:
            rates = (
                f", {self.window_rate:.0f} req/s in the fault window vs {self.baseline_rate:.0f}"
            )
        return f"Locust {exit_text}; {self.logged:,} in its request log{rates}"


@dataclass(frozen=True)
class Evidence:
    """What the figures of one run rest on, and which of them it leaves not judged."""

    clock: Clock
    probe: ProbeSettings
    window: FaultWindow | None
    capacity: CapacityEvidence | None = None
    traffic: TrafficEvidence | None = None
    locust: LocustEvidence | None = None
    routing: RoutingEvidence | None = None

    def not_judged(self) -> dict[str, str]:
        """Measure name → why its evidence has a gap (`judge(..., not_judged=)`)."""
        out: dict[str, str] = {}
        if self.capacity is not None and (why := self.capacity.gap(self.clock)):
            out |= {HEALTHY_CAPACITY.name: why, RECOVERY_TIME.name: why}
        if self.traffic is not None and (why := self.traffic.gap(self.clock)):
            out[FAILOVER_TIME.name] = why
        if self.locust is not None and (why := self.locust.gap(self.clock)):
            # the 50 Hz probe alone is not enough evidence for the request figures
            for name in (ERROR_RATE.name, *(m.name for m in LATENCY.values())):
                out[name] = why
            out.setdefault(FAILOVER_TIME.name, why)
        if self.routing is not None and (why := self.routing.gap(self.clock)):
            out[DETECTION_TIME.name] = why
        return out

    def notes(self) -> dict[str, str]:
        """One line per kind of evidence, for the report's sampling-resolution attachment."""
        out = {"evidence: probe settings": self.probe.describe()}
        if self.window is not None:
            end = "healthy capacity back" if self.window.recovered else "end of the observation"
            out["evidence: fault window"] = (
                f"injection → {end}, {_platform(self.window.duration_s, self.clock)}"
            )
        if self.capacity is not None:
            out["evidence: capacity"] = self.capacity.describe(self.clock)
        if self.traffic is not None:
            out["evidence: traffic"] = self.traffic.describe(self.clock)
        if self.locust is not None:
            out["evidence: Locust"] = self.locust.describe()
        if self.routing is not None:
            out["evidence: routing"] = self.routing.describe(self.clock)
        return out


def fault_window(timeline: Timeline, recovered_at: float | None) -> FaultWindow | None:
    """The first injection → `recovered_at` (healthy capacity back), else the observation's end."""
    injection = min(timeline.injections(), default=None)
    if injection is None:
        return None
    if recovered_at is not None and recovered_at >= injection:
        return FaultWindow(injection, recovered_at, recovered=True)
    span = timeline.span()
    end = span[1] if span is not None else injection
    return FaultWindow(injection, max(end, injection), recovered=False)


def gather(
    timeline: Timeline,
    window: FaultWindow | None,
    *,
    clock: Clock,
    probe: ProbeSettings,
    baseline_instances: int | None,
    diagnostics: Diagnostics | None,
    phases: FailoverPhases | None = None,
) -> Evidence:
    """The evidence of one run over its fault window (none without an injection)."""
    if window is None:
        return Evidence(clock, probe, None)
    interval = probe.wall_interval(clock)
    routing = routing_evidence(timeline, phases, interval)
    traffic = _traffic(timeline, window, interval, baseline_instances)
    return Evidence(
        clock,
        probe,
        window,
        capacity=_capacity(timeline, window, interval, diagnostics),
        traffic=replace(traffic, removal_seen=_removal_seen(phases, routing)),
        locust=None if diagnostics is None else _locust(timeline, window, interval, diagnostics),
        routing=routing,
    )


def _removal_seen(phases: FailoverPhases | None, routing: RoutingEvidence | None) -> bool:
    """Every target VM seen leaving rotation by the load balancer itself (not inferred from the
    last request), each change bracketed by routing samples at most a probe interval apart."""
    if phases is None or not phases.vms or routing is None:
        return False
    if routing.widest_s > routing.interval_s:
        return False
    stopped = phases.routed_until()
    return all(math.isfinite(stopped.get(vm.vm, math.inf)) for vm in phases.vms)


def _capacity(
    timeline: Timeline, window: FaultWindow, interval: float, diagnostics: Diagnostics | None
) -> CapacityEvidence | None:
    if timeline.capacity.empty:
        return None  # no sample at all: the figures are missing, not merely thin
    ticks = np.unique(timeline.capacity["time"].to_numpy(dtype=float))
    inside = ticks[(ticks > window.start) & (ticks <= window.end)]
    failed = [] if diagnostics is None else [t for t, _ in diagnostics.failed_listings]
    failed = [t for t in failed if window.start <= t <= window.end]
    if not window.recovered:
        # Never back: the listings end before the observation does (the probe stops first), so
        # the window ends at the last listing tried — a failed one after the last sample counts.
        last = max([*inside.tolist(), *failed], default=window.start)
        window = FaultWindow(window.start, last, recovered=False)
    ticks_stats = None if diagnostics is None else diagnostics.capacity_ticks
    allowed = interval
    if ticks_stats is not None:  # a tick the List VMs budget set (fleet/budget.py)
        allowed = max(interval, CAPACITY_TICK_SLACK * ticks_stats.interval_s)
    return CapacityEvidence(
        samples=int(inside.size),
        largest_gap_s=_largest_gap(inside, window),
        failed_listings=len(failed),
        interval_s=allowed,
    )


def _traffic(
    timeline: Timeline, window: FaultWindow, interval: float, baseline_instances: int | None
) -> TrafficEvidence:
    requests = timeline.requests
    starts = requests["start"].to_numpy(dtype=float)
    in_window = (starts >= window.start) & (starts <= window.end)
    count = int(in_window.sum())
    rate = count / window.duration_s if window.duration_s > 0 else 0.0
    return TrafficEvidence(
        requests=count,
        flows_per_vm_per_interval=rate
        * _even_share(timeline, window.start, baseline_instances)
        * interval,
        largest_gap_s=_largest_gap(np.sort(starts[in_window]), window),
        interval_s=interval,
    )


def _even_share(timeline: Timeline, injection: float, baseline_instances: int | None) -> float:
    """A target VM's share of new flows: the balancer hashes each flow's five-tuple over the
    backends its probe has up, evenly in expectation. (A baseline of a few hundred requests
    estimates one VM's own share no better than ±2 points, so the even share is the estimate.)"""
    if not baseline_instances:
        requests = timeline.requests
        before = requests[(requests["start"] < injection) & requests["ok"]]
        baseline_instances = int(before["served_by"].dropna().nunique())
    return 1.0 / max(1, baseline_instances)


def _locust(
    timeline: Timeline, window: FaultWindow, interval: float, diagnostics: Diagnostics
) -> LocustEvidence:
    requests = timeline.requests
    starts = requests.loc[requests["source"] == "locust", "start"].to_numpy(dtype=float)
    window_rate = baseline_rate = None
    stopped_early = window.duration_s
    if starts.size:
        if window.duration_s > 0:
            inside = (starts >= window.start) & (starts <= window.end)
            window_rate = float(inside.sum()) / window.duration_s
        before = starts[starts < window.start]
        if before.size and window.start > before.min():
            baseline_rate = before.size / (window.start - float(before.min()))
        stopped_early = max(0.0, window.end - float(starts.max()))
    return LocustEvidence(
        exit=diagnostics.locust,
        logged=int(starts.size),
        window_rate=window_rate,
        baseline_rate=baseline_rate,
        stopped_early_s=stopped_early,
        interval_s=interval,
    )


def _largest_gap(times: np.ndarray, window: FaultWindow) -> float:
    """The longest stretch of the window without one of the sorted `times` (its boundaries
    count: from the injection to the first, from the last to the window's end)."""
    points = np.concatenate(([window.start], times, [window.end]))
    return float(np.diff(points).max()) if points.size > 1 else math.inf


def _platform(wall_s: float, clock: Clock) -> str:
    platform = clock.platform(wall_s)
    if not clock.scaled:
        return f"{platform:.2f} s"
    return f"{platform:.2f} s platform"


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}" + ("" if n == 1 else "s")
