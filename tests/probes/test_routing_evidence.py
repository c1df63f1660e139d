"""Evidence under ARM faults: a routing sample that comes long after the one before it (a
throttled health query) leaves the detection time not judged; a capacity tick that Compute's
List VMs budget stretched (a 1000-VM set) is judged against that tick, not against a
probe-interval third it could never keep."""

from __future__ import annotations

from typing import Any

import numpy as np

from probes.diagnostics import Diagnostics
from probes.metrics import compute_metrics
from probes.sampler import TickStats
from probes.timeline import Timeline
from tests.probes import constructed as c


def routing(skip: tuple[float, float] | None = None) -> list[dict[str, Any]]:
    """The balancer's view every second: vm-2 out of rotation from 12 s to 21 s."""
    rows = []
    for t in np.arange(0.0, 30.0, 1.0):
        if skip is not None and skip[0] < t < skip[1]:
            continue
        for vm in c.VMS:
            down = vm == "vm-2" and 12.0 <= t < 21.0
            rows.append(
                {"time": c.T0 + float(t), "instance": vm, "state": "down" if down else "up",
                 "reason": "Down_Probe_HttpEndpointUnreachable" if down else None}
            )  # fmt: skip
    return rows


def stop_vm(route: list[dict[str, Any]], capacity_tick: float = 0.25) -> Timeline:
    return Timeline.build(
        requests=c.requests(30.0, failing=[(10.0, 10.5)], absent={"vm-2": (10, 21)}),
        capacity=c.capacity(30.0, tick=capacity_tick, down={"vm-2": (10.25, 21.0)}),
        events=c.events((10.0, "inject"), (20.0, "revert")),
        routing=route,
    )


def test_close_routing_samples_judge_the_detection() -> None:
    m = compute_metrics(stop_vm(routing()))
    assert "detection_time_s" not in m.not_judged
    assert m.as_measurements()["detection_time_s"] == 1.5  # up at 11, down at 12: the midpoint
    assert "widest span before a detection 1.00 s" in m.resolution_notes()["evidence: routing"]


def test_a_throttled_routing_gap_before_the_detection_is_not_judged() -> None:
    """No health query answered from 10 s to 18 s: the detection read at 18 s could be 6 s too
    long, so it is not judged rather than failed."""
    m = compute_metrics(stop_vm(routing(skip=(10.5, 17.5))))
    assert m.as_measurements()["detection_time_s"] == 4.0  # up at 10, down at 18: the midpoint
    why = m.not_judged["detection_time_s"]
    assert "no routing sample for 8.00 s before the load balancer was seen to stop" in why
    assert "routing vm-2" in why


def test_a_budget_bound_capacity_tick_is_judged_against_that_tick() -> None:
    """Listings every 6 s (a 1000-VM set at 80 % of the List VMs budget): gaps of 6 s are the
    plan when the probe's tick says so, a hole when it does not."""
    timeline = stop_vm(routing(), capacity_tick=6.0)
    planned = Diagnostics(capacity_ticks=TickStats("capacity-probe", 6.0, 5, 0))
    assert "min_healthy_capacity" not in compute_metrics(timeline, diagnostics=planned).not_judged
    unplanned = Diagnostics(capacity_ticks=TickStats("capacity-probe", 1.0, 30, 0))
    why = compute_metrics(timeline, diagnostics=unplanned).not_judged["min_healthy_capacity"]
    assert "more than the 5.00 s allowed" in why
