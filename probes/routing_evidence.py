"""The evidence under the detection time: how close the routing sample that first showed a
target VM out of rotation came after the one before it (probes/evidence.py holds it to one probe
interval). A throttled or failing health query stretches that span, and the detection read at
its end could be that much too long — so a wide span leaves the figure not judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from probes.measures import Clock
from probes.phases import FROM_LOAD_BALANCER, FailoverPhases
from probes.timeline import Timeline


@dataclass(frozen=True)
class RoutingEvidence:
    """Around each target VM's detection: the span between the routing sample that first showed
    it out of rotation and the sample (or the call's acceptance) before it — the figure's
    uncertainty. The widest span and its VM."""

    widest_s: float  # wall
    vm: str | None
    interval_s: float  # wall: one probe interval, the widest span allowed

    def gap(self, clock: Clock) -> str | None:
        if self.widest_s <= self.interval_s:
            return None
        return (
            f"no routing sample for {_platform(self.widest_s, clock)} before the load balancer "
            f"was seen to stop routing {self.vm} (more than one probe interval, "
            f"{_platform(self.interval_s, clock)}): detection may have come that much sooner"
        )

    def describe(self, clock: Clock) -> str:
        return (
            f"widest span before a detection {_platform(self.widest_s, clock)} ({self.vm}; at "
            f"most one probe interval, {_platform(self.interval_s, clock)})"
        )



def routing_evidence(
    timeline: Timeline, phases: FailoverPhases | None, interval: float
) -> RoutingEvidence | None:
    """The widest span before a detection read from the load balancer (None: none was)."""
    if phases is None or timeline.routing.empty:
        return None
    ticks = np.unique(timeline.routing["time"].to_numpy(dtype=float))
    widest: tuple[float, str | None] = (0.0, None)
    for vm in phases.vms:
        stopped = vm.routing_stopped
        if vm.routing_source != FROM_LOAD_BALANCER or stopped is None or math.isinf(stopped):
            continue
        # the estimate lies between the last sample showing the VM up and the first showing
        # it down (probes/phases.py): the span is that interval, whatever its midpoint
        after = ticks[ticks >= stopped]
        first_down = float(after.min()) if after.size else stopped
        before = ticks[ticks < first_down]
        start = max(vm.accepted, float(before.max())) if before.size else vm.accepted
        widest = max(widest, (first_down - start, vm.vm), key=lambda w: w[0])
    if widest[1] is None:
        return None
    return RoutingEvidence(widest[0], widest[1], interval)


def _platform(wall_s: float, clock: Clock) -> str:
    platform = clock.platform(wall_s)
    return f"{platform:.2f} s platform" if clock.scaled else f"{platform:.2f} s"
