"""Failover in phases, per target VM, on one clock (docs/design.md, "Measurements"):

    call accepted → VM state reached → load balancer stopped routing (detection)
    → last failed request → healthy capacity back

- call accepted: the `inject` event naming the VM (the injecting call was sent);
- VM state reached: the first capacity sample from then on showing the VM out of running
  (stopping, stopped, deallocated, ...), unhealthy, or no longer listed (deleted);
- LB stopped routing: between the last routing sample still showing the VM up (or the call,
  if later) and the first one from the call on showing it down, or no longer listed once it had
  been (it left the pool) — the midpoint of that interval. On the emulator the samples come
  from its load balancer, on Azure from the Load Balancer's per-backend health status
  (probes/routing.py).
  With no routing sample of the VM after the call, the fallback is the start of the last request
  the VM served from the call until the last failure (or until it is back in service): when it
  was last seen serving, a lower bound on when routing stopped (none served: no figure);
- last failed request: the last failure of the last disruption (`probes.failover`, as
  `compute_metrics` groups them), and healthy capacity back: the recovery — both fleet-wide.

Times are epoch seconds; each phase is also given as wall seconds since the VM's call
(`probes.measures.Clock` converts them). math.inf = never while observed (routing samples kept
showing the VM up to the end); None = no evidence. A figure over several VMs is the slowest VM's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from probes.measures import DETECTION_TIME, STATE_TIME, Clock, Measure
from probes.timeline import Timeline

# Phase keys and the names the terminal and the chart give them, in order.
PHASES: tuple[tuple[str, str], ...] = (
    ("accepted", "call accepted"),
    ("state_reached", "VM state reached"),
    ("routing_stopped", "LB stopped routing"),
    ("last_failure", "last failed request"),
    ("capacity_back", "capacity back"),
)
LABELS: dict[str, str] = dict(PHASES)
FROM_LOAD_BALANCER = "load balancer"
FROM_LAST_REQUEST = "last request served"
LEFT_THE_POOL = "left the pool"
NOT_A_STATE = ("running", "unknown", "")
Found = tuple[float | None, str | None]  # (when, what was seen then)


@dataclass(frozen=True)
class VmPhases:
    """The phases of one target VM (epoch seconds; inf = never while observed)."""

    vm: str
    accepted: float
    state_reached: float | None
    state: str | None  # what that sample showed: stopping, deallocated, unhealthy, deleted, ...
    routing_stopped: float | None
    routing_source: str | None  # FROM_LOAD_BALANCER | FROM_LAST_REQUEST
    routing_reason: str | None  # the load balancer's reason code (or LEFT_THE_POOL)

    def since_call(self, at: float | None) -> float | None:
        """Wall seconds from the call to `at` (never negative)."""
        if at is None or math.isinf(at):
            return at
        return max(0.0, at - self.accepted)

    @property
    def state_time_s(self) -> float | None:
        return self.since_call(self.state_reached)

    @property
    def detection_time_s(self) -> float | None:
        return self.since_call(self.routing_stopped)


@dataclass(frozen=True)
class PhaseMark:
    """One phase of one VM, for the chart: key, name, epoch time."""

    key: str
    label: str
    time: float
    vm: str


@dataclass(frozen=True)
class FailoverPhases:
    """The phases of every target VM, and the fleet-wide last failure and recovery."""

    vms: tuple[VmPhases, ...] = ()
    last_failure: float | None = None
    capacity_back: float | None = None
    routing_samples: int = 0  # routing-probe ticks in the timeline
    routing_step_s: float | None = None  # their median spacing
    capacity_step_s: float | None = None  # the capacity probe's median spacing

    @property
    def detection_time_s(self) -> float | None:
        return _slowest([v.detection_time_s for v in self.vms])

    @property
    def state_time_s(self) -> float | None:
        return _slowest([v.state_time_s for v in self.vms])

    def times(self, vm: VmPhases) -> dict[str, float | None]:
        """Phase key → epoch time for one VM (fleet-wide phases included)."""
        return {
            "accepted": vm.accepted,
            "state_reached": vm.state_reached,
            "routing_stopped": vm.routing_stopped,
            "last_failure": self.last_failure,
            "capacity_back": self.capacity_back,
        }

    def marks(self) -> list[PhaseMark]:
        """Every finite phase time (the fleet-wide ones once), in phase order."""
        marks: list[PhaseMark] = []
        seen: set[tuple[str, float]] = set()
        for key, label in PHASES:
            for vm in self.vms:
                at = self.times(vm)[key]
                if at is not None and math.isfinite(at) and (key, at) not in seen:
                    seen.add((key, at))
                    marks.append(PhaseMark(key, label, at, vm.vm))
        return marks

    def describe(self, clock: Clock | None = None) -> list[str]:
        """One line per target VM for the terminal: each phase, seconds after its call."""
        clock = clock or Clock()
        unit = "platform s" if clock.scaled else "s"
        lines = []
        for vm in self.vms:
            parts = []
            for key, label in PHASES:
                at = vm.since_call(self.times(vm)[key])
                detail = {"state_reached": vm.state, "routing_stopped": vm.routing_reason}.get(key)
                if key == "routing_stopped" and vm.routing_source == FROM_LAST_REQUEST:
                    detail = f"fallback: {FROM_LAST_REQUEST}"
                name = f"{label} ({detail})" if detail else label
                parts.append(f"{name} {_offset(at, clock)}")
            lines.append(f"phases of {vm.vm} ({unit} after the call): " + " → ".join(parts))
        return lines

    def routed_until(self) -> dict[str, float]:
        """VM → when the load balancer itself stopped routing to it (not the last-request
        fallback, which is only a lower bound; inf: it never did while observed)."""
        return {
            v.vm: v.routing_stopped
            for v in self.vms
            if v.routing_source == FROM_LOAD_BALANCER and v.routing_stopped is not None
        }

    def measurements(self) -> dict[Measure, float | None]:
        """The phase figures by measure, wall seconds."""
        return {STATE_TIME: self.state_time_s, DETECTION_TIME: self.detection_time_s}

    def resolutions(self) -> dict[str, tuple[str, float | None, str]]:
        """Measure name → (source, step in s, note): what each phase figure rests on."""
        fallback = [v.vm for v in self.vms if v.routing_source == FROM_LAST_REQUEST]
        note = f"{self.routing_samples} routing samples"
        if fallback:
            note += (
                f"; no routing sample of {', '.join(fallback)}: from the last request it served "
                "(a lower bound)"
            )
        return {
            DETECTION_TIME.name: ("routing probe tick", self.routing_step_s, note),
            STATE_TIME.name: (
                "capacity probe tick",
                self.capacity_step_s,
                "first sample out of running, unhealthy or gone",
            ),
        }


def phase_values(phases: FailoverPhases | None) -> dict[Measure, float | None]:
    """The phase figures, None when no phases were computed."""
    return (phases or FailoverPhases()).measurements()


def compute_phases(
    timeline: Timeline, *, last_failure: float | None = None, capacity_back: float | None = None
) -> FailoverPhases:
    """The phases of every VM an `inject` event names (none: no VM phases)."""
    routing_ticks = np.unique(timeline.routing["time"].to_numpy(dtype=float))
    vms = tuple(
        _vm_phases(timeline, vm, accepted, last_failure)
        for vm, accepted in target_vms(timeline).items()
    )
    return FailoverPhases(
        vms, last_failure, capacity_back, len(routing_ticks), _median_step(routing_ticks),
        _median_step(np.unique(timeline.capacity["time"].to_numpy(dtype=float))),
    )  # fmt: skip


def _median_step(ticks: np.ndarray) -> float | None:
    return float(np.median(np.diff(ticks))) if len(ticks) > 1 else None


def target_vms(timeline: Timeline) -> dict[str, float]:
    """VM name → when the platform accepted its injecting call: its own `accepted` event when
    the fault went in waves (a zone of 333 VMs, 16 at a time), else the `inject` event (else
    `injected`) that names it."""
    events = timeline.events
    rows = events[events["kind"] == "inject"]
    if rows.empty:
        rows = events[events["kind"] == "injected"]
    found: dict[str, float] = {}
    for row in rows.itertuples(index=False):
        names = "" if pd.isna(row.vm) else str(row.vm)
        for name in filter(None, (n.strip() for n in names.split(","))):
            found.setdefault(name, float(row.time))
    for row in events[events["kind"] == "accepted"].itertuples(index=False):
        if not pd.isna(row.vm) and str(row.vm) in found:
            found[str(row.vm)] = float(row.time)
    return found


def _vm_phases(
    timeline: Timeline, vm: str, accepted: float, last_failure: float | None
) -> VmPhases:
    state_at, state = _state_reached(timeline.capacity, vm, accepted)
    routed_at, reason = _routing_stopped(timeline.routing, vm, accepted)
    source: str | None = FROM_LOAD_BALANCER
    if routed_at is None:  # no routing sample of this VM after its call: the fallback
        back = _back_in_service(timeline.capacity, vm, state_at)
        until = min(math.inf if last_failure is None else last_failure, back)
        routed_at, reason = _last_served(timeline.requests, vm, accepted, until), None
        source = FROM_LAST_REQUEST if routed_at is not None else None
    return VmPhases(vm, accepted, state_at, state, routed_at, source, reason)


def _state_reached(capacity: pd.DataFrame, vm: str, since: float) -> Found:
    """First capacity tick at/after `since` with the VM out of running, unhealthy or gone."""
    if capacity.empty:
        return None, None
    mine = capacity[capacity["instance"] == vm]
    listed_before = mine["time"]
    seen_after = False
    for tick in np.unique(capacity.loc[capacity["time"] >= since, "time"].to_numpy(dtype=float)):
        row = mine[mine["time"] == tick]
        if row.empty:
            if bool((listed_before < tick).any()):
                return float(tick), "deleted"
            continue
        seen_after = True
        power = _text(row["power_state"].iloc[0]).lower()
        if power not in NOT_A_STATE:
            return float(tick), power
        if _text(row["health_state"].iloc[0]).lower() == "unhealthy":
            return float(tick), "unhealthy"
    return (math.inf, None) if seen_after else (None, None)


def _routing_stopped(routing: pd.DataFrame, vm: str, since: float) -> Found:
    """When the load balancer stopped routing to the VM: the change lies between the last tick
    that still showed it up (or the call, if later) and the first tick at/after `since` showing
    it down or gone after being listed; the estimate is that interval's midpoint, which halves
    the sampling bias of taking the first "down" tick (bench/bench_failover_accuracy.py)."""
    mine = routing[routing["instance"] == vm] if not routing.empty else routing
    if mine.empty:
        return None, None
    seen_after = False
    last_up = _last_up_before(mine, since)
    for tick in np.unique(routing.loc[routing["time"] >= since, "time"].to_numpy(dtype=float)):
        row = mine[mine["time"] == tick]
        if row.empty:
            if bool((mine["time"] < tick).any()):
                return _between(last_up, since, float(tick)), LEFT_THE_POOL
            continue
        seen_after = True
        if _text(row["state"].iloc[0]) == "down":
            return _between(last_up, since, float(tick)), _text(row["reason"].iloc[0]) or None
        last_up = float(tick)
    return (math.inf, None) if seen_after else (None, None)


def _last_up_before(mine: pd.DataFrame, since: float) -> float | None:
    """The last tick before `since` that showed the VM routed to (None: none did)."""
    before = mine[(mine["time"] < since) & (mine["state"] != "down")]
    return float(before["time"].max()) if not before.empty else None


def _between(last_up: float | None, since: float, first_down: float) -> float:
    """Midpoint of the interval the change lies in: (max(last up, call), first down]."""
    if last_up is None:
        return first_down
    return (max(last_up, since) + first_down) / 2.0


def _back_in_service(capacity: pd.DataFrame, vm: str, out_at: float | None) -> float:
    """The first capacity tick after `out_at` showing the VM running and healthy again (inf:
    never, or it never left)."""
    if out_at is None or math.isinf(out_at) or capacity.empty:
        return math.inf
    back = capacity[(capacity["instance"] == vm) & (capacity["time"] > out_at)]
    back = back[back["running"] & back["healthy"]]
    return float(back["time"].min()) if not back.empty else math.inf


def _last_served(requests: pd.DataFrame, vm: str, since: float, until: float) -> float | None:
    """Start of the last request the VM answered from `since` until `until` (the last failure,
    or the VM back in service): None when it answered none."""
    if requests.empty:
        return None
    served = requests[requests["ok"] & (requests["served_by"] == vm) & (requests["start"] >= since)]
    served = served[served["start"] <= until]
    return float(served["start"].max()) if not served.empty else None


def _slowest(values: Sequence[float | None]) -> float | None:
    """The slowest VM's figure: inf if any never ended; None if any has no evidence."""
    if not values:
        return None
    if any(v is not None and math.isinf(v) for v in values):
        return math.inf
    if any(v is None for v in values):
        return None
    return max(v for v in values if v is not None)


def _offset(seconds: float | None, clock: Clock) -> str:
    if seconds is None:
        return "n/a"
    if math.isinf(seconds):
        return "never"
    return f"+{clock.platform(seconds):.1f}"


def _text(value: object) -> str:
    return "" if value is None or pd.isna(value) else str(value)  # type: ignore[arg-type]
