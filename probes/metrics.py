"""The measurements of one run, computed from its timeline as docs/design.md "Measurements" defines.

Every figure carries the sampling resolution it rests on: per request for failover time, error
rates and latency (exact event times, bounded by how often requests were made), the capacity
probe's tick for healthy capacity and recovery time, the trailing window for serving capacity —
and the evidence under it (`probes.evidence`: capacity samples and their largest gap, new flows
per target VM per probe interval, Locust's exit and totals). A figure whose evidence has a gap
is listed in `Metrics.not_judged`, which the verdict must honour. Figures are named by
`probes.measures`; durations are wall seconds, converted to platform seconds only through a
`probes.measures.Clock`; the load balancer's probe settings (`probes.probe_settings`) set the
quiet window that ends a disruption and the probe interval the evidence is held to.

The request figures that are targets (error rate, latency) cover the **fault window**: the
first injection until healthy capacity is back at baseline, or the end of the observation when
it never came back. Over the whole run (`..._overall`) a fault's errors are diluted by the
healthy minutes around it.

Conventions in `as_measurements()`: None = could not be measured (no traffic, no fault, no
capacity samples); math.inf = measured and never ended (errors never stopped, capacity never
came back) — so an upper-bound target fails rather than passing on missing evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from flexchaos.errors import FlexchaosError
from probes.capacity_curves import (
    baseline_instance_count,
    healthy_capacity_curve,
    serving_capacity_curve,
)
from probes.diagnostics import Diagnostics
from probes.evidence import Evidence, FaultWindow, fault_window, gather
from probes.failover import Disruption, Failover, disruptions, failover, seen_by_the_load_balancer
from probes.measures import (
    ERROR_RATE,
    FAILOVER_TIME,
    HEALTHY_CAPACITY,
    LATENCY,
    MEASURES,
    RECOVERY_TIME,
    SERVING_CAPACITY,
    WHOLE_RUN,
    Clock,
    Measure,
)
from probes.phases import FailoverPhases, compute_phases, phase_values
from probes.probe_settings import ProbeSettings
from probes.request_stats import PhaseStats, failed_text, phase_stats, request_values
from probes.timeline import PHASES, Timeline
from probes.wall_clock import TOLERANCE_SHARE_OF_PROBE_INTERVAL, step_gap

DEFAULT_SERVING_WINDOW_S = 1.0


@dataclass(frozen=True)
class Resolution:
    """What a figure rests on: its source and the time step it can resolve (None = exact)."""

    source: str
    step_s: float | None
    note: str = ""

    def describe(self) -> str:
        step = "exact event times" if self.step_s is None else f"{self.step_s * 1000:.0f} ms"
        return f"{self.source}, {step}" + (f" ({self.note})" if self.note else "")


@dataclass(frozen=True)
class Recovery:
    """Revert (or injection, when the platform heals) → healthy capacity back to baseline."""

    start: float
    start_kind: str  # "revert" or "inject"
    recovered_at: float | None
    time_s: float | None  # inf: never back to baseline while observed
    recovered: bool


@dataclass(frozen=True)
class Metrics:
    """Typed results; as_measurements() flattens them to the names of `probes.measures`."""

    baseline_instances: int | None
    healthy_capacity: pd.DataFrame  # time, healthy, total, capacity
    min_healthy_capacity: float | None
    serving_capacity: pd.DataFrame  # time, serving, capacity
    min_serving_capacity: float | None
    failovers: list[Failover]  # one per fault (a fault injected in waves is one)
    failover_time_s: float | None
    disruptions: list[Disruption]  # every disruption from the injection on
    recovery: Recovery | None
    recovery_time_s: float | None
    overall: PhaseStats
    phases: dict[str, PhaseStats]
    resolutions: dict[str, Resolution] = field(default_factory=dict)  # measure name → resolution
    diagnostics: Diagnostics | None = None  # the probes' own account, when the run gave it
    failover_phases: FailoverPhases | None = None  # call accepted → … → capacity back, per VM
    fault_window: FaultWindow | None = None
    fault: PhaseStats | None = None  # the requests of the fault window
    evidence: Evidence | None = None
    quiet_window_s: float | None = None  # wall: what ends a disruption

    @property
    def recovered(self) -> bool | None:
        return None if self.recovery is None else self.recovery.recovered

    @property
    def not_judged(self) -> dict[str, str]:
        """Measure name → why its evidence has a gap: `judge(..., not_judged=...)`. A step of
        the machine's wall clock during the run leaves every figure not judged: each rests on
        time stamps it moved (probes/wall_clock.py)."""
        if self.evidence is None:
            return {}
        out = self.evidence.not_judged()
        steps = None if self.diagnostics is None else self.diagnostics.wall_clock_steps
        interval = self.evidence.probe.wall_interval(self.evidence.clock)
        if steps and (why := step_gap(steps, interval * TOLERANCE_SHARE_OF_PROBE_INTERVAL)):
            out |= {m.name: why for m in MEASURES}
        return out

    def by_measure(self) -> dict[Measure, float | None]:
        """Each measure with its value in wall seconds (the request figures over the fault
        window; whole-run and per-phase ones: `Measure.in_phase`)."""
        out: dict[Measure, float | None] = {
            HEALTHY_CAPACITY: self.min_healthy_capacity,
            FAILOVER_TIME: self.failover_time_s,
            RECOVERY_TIME: self.recovery_time_s,
            SERVING_CAPACITY: self.min_serving_capacity,
            **request_values(self.fault),
            **phase_values(self.failover_phases),
        }
        out.update({m.in_phase(WHOLE_RUN): v for m, v in request_values(self.overall).items()})
        for name in PHASES:
            stats = self.phases.get(name)
            out.update({m.in_phase(name): v for m, v in request_values(stats).items()})
        return out

    def as_measurements(self, clock: Clock | None = None) -> dict[str, float | None]:
        """Measure name → value: wall seconds as measured, or with `clock`, durations of the
        platform in platform seconds (ratios and latencies are never scaled)."""
        return {
            m.name: v if v is None or clock is None else m.on_platform(v, clock)
            for m, v in self.by_measure().items()
        }

    def details(self) -> dict[str, str]:
        """Measure name → the measurement in words, where the number alone could mislead: the
        error rate as counts (a rate never rounds 4 failures to 0), the failover as which of how
        many disruptions set it (`judge(..., details=...)`)."""
        out: dict[str, str] = {}
        if self.fault is not None and self.fault.requests:
            out[ERROR_RATE.name] = failed_text(self.fault.failures, self.fault.requests)
        if self.failovers and self.failovers[0].time_s is not None:
            first = self.failovers[0]
            if first.from_routing:
                out[FAILOVER_TIME.name] = (
                    ("no request failed" if not first.counted else "after the last failed request")
                    + f"; ends when the load balancer stopped routing to {first.from_routing} "
                    "(a flow could fail until then)"
                )
            elif first.counted:
                out[FAILOVER_TIME.name] = (
                    "1 disruption" if first.counted == 1
                    else f"end of the last of {first.counted} disruptions"
                )  # fmt: skip
            else:
                out[FAILOVER_TIME.name] = "no request failed in the fault window"
        return out

    def resolution_notes(self) -> dict[str, str]:
        """What each figure rests on, the evidence behind it and what leaves it not judged, then
        the probes' diagnostics (the report attaches them)."""
        notes = {name: r.describe() for name, r in self.resolutions.items()}
        notes.update({f"{name}: NOT JUDGED": why for name, why in self.not_judged.items()})
        if self.evidence is not None:
            notes.update(self.evidence.notes())
        if self.diagnostics is not None:
            notes.update({f"diagnostics: {k}": v for k, v in self.diagnostics.notes().items()})
        return notes


# -- capacity --------------------------------------------------------------------------------
def _median_step(times: pd.Series) -> float | None:
    steps = np.diff(np.unique(times.to_numpy(dtype=float)))
    return float(np.median(steps)) if len(steps) else None


def recovery_from(curve: pd.DataFrame, start: float, start_kind: str) -> Recovery:
    """First tick at/after `start` from which healthy capacity stays at baseline (≥ 1.0)."""
    ticks = curve[curve["time"] >= start]
    if ticks.empty:
        return Recovery(start, start_kind, None, None, recovered=False)
    below = ticks[ticks["capacity"] < 1.0]
    if below.empty:
        return Recovery(start, start_kind, float(ticks["time"].iloc[0]), 0.0, recovered=True)
    after = ticks[ticks["time"] > below["time"].max()]
    if after.empty:
        return Recovery(start, start_kind, None, math.inf, recovered=False)
    at = float(after["time"].iloc[0])
    return Recovery(start, start_kind, at, at - start, recovered=True)


def compute_metrics(
    timeline: Timeline,
    *,
    probe: ProbeSettings | None = None,
    clock: Clock | None = None,
    quiet_window_s: float | None = None,
    serving_window_s: float = DEFAULT_SERVING_WINDOW_S,
    baseline_instances: int | None = None,
    platform_heals: bool | None = None,
    diagnostics: Diagnostics | None = None,
) -> Metrics:
    """All measurements of one timeline, and the evidence behind them.

    probe: the load balancer's probe settings (default: Azure's, 5 s × 1); clock: the wall ↔
    platform conversion (default: Azure's, 1.0). The quiet window that ends a disruption is
    probe interval × threshold in wall seconds, unless `quiet_window_s` (wall) overrides it.
    baseline_instances: instances at baseline; default, from the last capacity tick before the
    first injection. platform_heals: measure recovery from the injection rather than the
    revert; default, when the timeline has no revert event. diagnostics: the probes' account of
    the run (`Observation.diagnostics()`): failed listings count as capacity gaps, and Locust's
    exit and totals decide whether the request figures rest on its traffic."""
    clock = clock or Clock()
    probe = probe or ProbeSettings()
    quiet = probe.wall_quiet_window(clock) if quiet_window_s is None else quiet_window_s
    if quiet <= 0 or serving_window_s <= 0:
        raise FlexchaosError("quiet_window_s and serving_window_s must be > 0 seconds")
    requests = timeline.requests
    baseline = baseline_instances or baseline_instance_count(timeline)
    healthy = healthy_capacity_curve(timeline, baseline)
    serving = serving_capacity_curve(timeline, serving_window_s, baseline)

    recovery: Recovery | None = None
    injections = sorted(timeline.injections())
    revert = timeline.first_event("revert", "reverted")
    heals = platform_heals if platform_heals is not None else revert is None
    start, kind = (injections[0], "inject") if heals and injections else (revert, "revert")
    if start is not None and not healthy.empty:
        given_up = timeline.first_event("not_recovered")  # the recovery limit passed here
        watched = healthy if given_up is None else healthy[healthy["time"] <= given_up]
        recovery = recovery_from(watched, start, kind)
    # Healthy capacity back, and never before the hold ended (the lifecycle's `recovered`
    # event comes after it): a fault that never dented capacity still covers its hold.
    back = recovery.recovered_at if recovery is not None else None
    if recovery is None or recovery.recovered:
        back = max(
            (t for t in (back, timeline.first_event("recovered")) if t is not None), default=None
        )
    window = fault_window(timeline, back)

    # One fault, however many waves: from its first injection to the end of its last disruption.
    failovers = [failover(requests, window.start, window.end, quiet)] if window is not None else []
    failover_time = failovers[0].time_s if failovers else None
    all_disruptions = disruptions(requests, window.start, quiet) if window is not None else []

    counted = failovers[0].disruption if failovers else None  # the last one that counts
    failover_phases = compute_phases(
        timeline,
        last_failure=counted.last_failure if counted is not None else None,
        capacity_back=None if recovery is None else recovery.recovered_at,
    )
    if failovers:
        failovers[0] = seen_by_the_load_balancer(failovers[0], failover_phases.routed_until())
        failover_time = failovers[0].time_s
    labels = timeline.phase_labels(requests["start"])
    phases = {
        p.name: phase_stats(p.name, requests[(labels == p.name).fillna(False)])
        for p in timeline.phases()
    }
    fault = None
    if window is not None:
        in_window = (requests["start"] >= window.start) & (requests["start"] <= window.end)
        fault = phase_stats("fault window", requests[in_window])
    evidence = gather(
        timeline, window, clock=clock, probe=probe, baseline_instances=baseline,
        diagnostics=diagnostics, phases=failover_phases,
    )  # fmt: skip
    n = len(requests)
    request_gap = _median_step(requests["start"]) if n > 1 else None
    traffic_caveat = diagnostics.traffic_caveat() if diagnostics is not None else ""
    capacity_caveat = diagnostics.capacity_caveat() if diagnostics is not None else ""
    scope = (
        f"{fault.requests} requests in the fault window of {n}" if fault is not None
        else f"{n} requests"
    )  # fmt: skip
    per_request = Resolution(
        "per request",
        None,
        _joined(
            f"{scope}, median gap {request_gap * 1000:.1f} ms" if request_gap else scope,
            traffic_caveat,
        ),
    )  # fmt: skip
    tick = _median_step(timeline.capacity["time"]) if not timeline.capacity.empty else None
    capacity_res = Resolution(
        "capacity probe tick", tick, _joined(f"{healthy.shape[0]} ticks", capacity_caveat)
    )
    counted = failovers[0].counted if failovers else 0
    failover_note = (
        f"failures grouped with a {quiet:g} s wall quiet window ({probe.describe()}); "
        f"{counted} disruption(s) in the fault window, the figure ends at the last; "
        "the step is the median gap between requests"
    )
    resolutions = {
        FAILOVER_TIME.name: Resolution(
            "per request", request_gap, _joined(failover_note, traffic_caveat)
        ),
        ERROR_RATE.name: per_request,
        **{m.name: per_request for m in LATENCY.values()},
        HEALTHY_CAPACITY.name: capacity_res,
        RECOVERY_TIME.name: capacity_res,
        SERVING_CAPACITY.name: Resolution(
            "traffic, trailing window",
            serving_window_s,
            _joined("evaluated every window/4", traffic_caveat),
        ),
        **{name: Resolution(*r) for name, r in failover_phases.resolutions().items()},
    }
    return Metrics(
        baseline_instances=baseline,
        healthy_capacity=healthy,
        min_healthy_capacity=float(healthy["capacity"].min()) if not healthy.empty else None,
        serving_capacity=serving,
        min_serving_capacity=float(serving["capacity"].min()) if not serving.empty else None,
        failovers=failovers,
        failover_time_s=failover_time,
        disruptions=all_disruptions,
        recovery=recovery,
        recovery_time_s=None if recovery is None else recovery.time_s,
        overall=phase_stats(WHOLE_RUN, requests),
        phases=phases,
        resolutions=resolutions,
        diagnostics=diagnostics,
        failover_phases=failover_phases,
        fault_window=window,
        fault=fault,
        evidence=evidence,
        quiet_window_s=quiet,
    )


def _joined(note: str, caveat: str) -> str:
    return f"{note}; {caveat}" if caveat else note
