"""Failover in phases on constructed timelines with known answers: call accepted → VM state
reached → LB stopped routing (detection) → last failed request → capacity back."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from probes.measures import DETECTION_TIME, STATE_TIME, Clock
from probes.metrics import compute_metrics
from probes.phases import (
    FROM_LAST_REQUEST,
    FROM_LOAD_BALANCER,
    LABELS,
    LEFT_THE_POOL,
    compute_phases,
    target_vms,
)
from probes.timeline import Timeline
from reports.targets import Targets
from reports.verdict import judge
from tests.probes import constructed as c

DOWN = "Down_Probe_HttpEndpointUnreachable"


def routing(
    until: float,
    *,
    tick: float = 0.5,
    down: dict[str, float] | None = None,
    leaves: dict[str, float] | None = None,
    vms: Sequence[str] = c.VMS,
) -> list[dict[str, Any]]:
    """Every VM each tick: up, down from `down[vm]`, not listed from `leaves[vm]`."""
    down, leaves = down or {}, leaves or {}
    rows = []
    for t in np.arange(0.0, until, tick):
        for vm in vms:
            if t >= leaves.get(vm, math.inf):
                continue
            off = t >= down.get(vm, math.inf)
            reason = DOWN if off else "Up_Probe_Success"
            rows.append({"time": c.T0 + float(t), "instance": vm, "state": "down" if off else "up",
                         "reason": reason})  # fmt: skip
    return rows


def stop_vm(**overrides: Any) -> Timeline:
    """vm-2 stopped by a call at 10.0: listed stopped from 10.25, routed down from 10.5;
    requests fail 10.0-10.6; capacity back at 15.0 (revert at 13.0)."""
    parts: dict[str, Any] = {
        "requests": c.requests(20, failing=[(10.0, 10.6)], absent={"vm-2": (10.3, 15.0)}),
        "capacity": c.capacity(20, down={"vm-2": (10.2, 15.0)}),
        "events": c.events((10.0, "inject"), (13.0, "revert")),
        "routing": routing(20, down={"vm-2": 10.5}),
    }
    return Timeline.build(**{**parts, **overrides})


def test_each_phase_of_a_stopped_vm_on_one_clock() -> None:
    metrics = compute_metrics(stop_vm())
    phases = metrics.failover_phases
    assert phases is not None and len(phases.vms) == 1
    (vm,) = phases.vms
    assert vm.vm == "vm-2" and vm.accepted == c.T0 + 10.0
    assert vm.state_reached == c.T0 + 10.25 and vm.state == "stopped"  # the first sample after
    # up at 10.0 (the call), down at 10.5: the change lies between, estimated at the midpoint
    assert vm.routing_stopped == c.T0 + 10.25 and vm.routing_reason == DOWN
    assert vm.routing_source == FROM_LOAD_BALANCER
    assert phases.last_failure == pytest.approx(c.T0 + 10.59)
    assert phases.capacity_back == c.T0 + 15.0
    assert vm.state_time_s == pytest.approx(0.25) and vm.detection_time_s == pytest.approx(0.25)
    measured = metrics.as_measurements(Clock(0.05))  # platform seconds
    assert measured[DETECTION_TIME.name] == pytest.approx(5.0)
    assert measured[STATE_TIME.name] == pytest.approx(5.0)
    assert metrics.resolutions[DETECTION_TIME.name].step_s == pytest.approx(0.5)
    # the phases in their order, each after the one before it
    times = [phases.times(vm)[key] for key in LABELS]
    assert times == sorted(times)


def test_detection_is_judged_against_max_detection_time_s() -> None:
    measured = compute_metrics(stop_vm()).as_measurements()  # wall seconds
    targets = Targets("test_stop_vm", {"max_detection_time_s": 15.0})
    passed = judge(targets, measured, time_scale=0.05)  # 0.25 s wall = 5 s platform
    assert passed.state == "passed" and passed.rows[0].measured == pytest.approx(5.0)
    failed = judge(Targets("x", {"max_detection_time_s": 4.0}), measured, time_scale=0.05)
    assert failed.state == "failed" and "max_detection_time_s" in failed.reason


def test_without_routing_samples_detection_falls_back_to_the_last_request_served() -> None:
    requests = c.requests(20, failing=[(10.3, 10.6)], absent={"vm-2": (10.3, 15.0)})
    metrics = compute_metrics(stop_vm(routing=None, requests=requests))
    (vm,) = metrics.failover_phases.vms  # type: ignore[union-attr]
    assert vm.routing_source == FROM_LAST_REQUEST and vm.routing_reason is None
    # vm-2 served its last request just before it left the rotation at 10.3
    assert c.T0 + 10.2 < vm.routing_stopped < c.T0 + 10.3  # type: ignore[operator]
    # served nothing after the call: no evidence, never a 0 s detection
    assert compute_phases(stop_vm(routing=None)).detection_time_s is None
    note = metrics.resolutions[DETECTION_TIME.name].note
    assert "no routing sample of vm-2" in note and "lower bound" in note


def test_a_vm_that_leaves_the_pool_has_stopped_being_routed() -> None:
    """A deleted VM (Spot eviction with Delete, Replace): no longer listed anywhere."""
    gone = c.T0 + 11.0
    capacity = [r for r in c.capacity(20) if r["instance"] != "vm-2" or r["time"] < gone]
    timeline = stop_vm(capacity=capacity, routing=routing(20, leaves={"vm-2": 12.0}))
    (vm,) = compute_phases(timeline).vms
    assert vm.state_reached == c.T0 + 11.0 and vm.state == "deleted"
    # listed at 11.5, gone at 12.0
    assert vm.routing_stopped == c.T0 + 11.75 and vm.routing_reason == LEFT_THE_POOL


def test_an_unhealthy_vm_has_reached_its_state() -> None:
    capacity = c.capacity(20)
    for row in capacity:
        if row["instance"] == "vm-2" and row["time"] >= c.T0 + 12.0:
            row.update(health_state="unhealthy", healthy=False)
    (vm,) = compute_phases(stop_vm(capacity=capacity)).vms
    assert vm.state_reached == c.T0 + 12.0 and vm.state == "unhealthy"


def test_a_vm_the_load_balancer_kept_routing_never_stopped() -> None:
    timeline = stop_vm(routing=routing(20))  # up in every sample after the call
    metrics = compute_metrics(timeline)
    assert metrics.failover_phases.detection_time_s == math.inf  # type: ignore[union-attr]
    verdict = judge(Targets("x", {"max_detection_time_s": 15.0}), metrics.as_measurements())
    assert verdict.state == "failed" and verdict.rows[0].measured_text() == "never ended"


def test_the_slowest_of_several_vms_and_no_evidence_is_not_a_figure() -> None:
    events = c.events((10.0, "inject"))
    events[0]["vm"] = "vm-2,vm-4"
    both = stop_vm(events=events, routing=routing(20, down={"vm-2": 10.5, "vm-4": 11.5}))
    phases = compute_phases(both)
    assert [v.vm for v in phases.vms] == ["vm-2", "vm-4"]
    assert phases.detection_time_s == pytest.approx(1.25)  # vm-4's: up 11.0, down 11.5
    unmapped = routing(20, down={"vm-2": 10.5}, vms=[v for v in c.VMS if v != "vm-4"])
    blind = stop_vm(events=events, routing=unmapped, requests=c.requests(20))
    # vm-4: no routing sample, and no request it served after the call ends a failure
    assert compute_phases(blind, last_failure=c.T0 + 9.0).detection_time_s is None


def test_a_vm_of_a_later_wave_is_timed_from_its_own_call() -> None:
    """A zone of 333 VMs goes 16 at a time: vm-4's call was accepted at 11.0, a wave after
    vm-2's at 10.0, so its detection runs from 11.0 (the 1000-VM zone down read 307 s from the
    first wave's acceptance)."""
    events = c.events((10.0, "inject"), (11.0, "accepted"))
    events[0]["vm"], events[1]["vm"] = "vm-2,vm-4", "vm-4"
    waves = stop_vm(events=events, routing=routing(20, down={"vm-2": 10.5, "vm-4": 11.5}))
    phases = {v.vm: v for v in compute_phases(waves).vms}
    assert phases["vm-2"].accepted == c.T0 + 10.0
    assert phases["vm-4"].accepted == c.T0 + 11.0
    assert phases["vm-4"].detection_time_s == pytest.approx(0.25)  # up 11.0, down 11.5


def test_no_injection_means_no_phases() -> None:
    metrics = compute_metrics(stop_vm(events=c.events((13.0, "revert"))))
    assert metrics.failover_phases is not None and metrics.failover_phases.vms == ()
    assert metrics.as_measurements()[DETECTION_TIME.name] is None
    assert target_vms(Timeline.build()) == {}


def test_the_terminal_names_each_phase_in_order() -> None:
    phases = compute_metrics(stop_vm()).failover_phases
    (line,) = phases.describe(Clock(0.05))  # type: ignore[union-attr]
    names = [line.index(label) for label in LABELS.values()]
    assert names == sorted(names)
    assert line.startswith("phases of vm-2 (platform s after the call)")
    assert f"LB stopped routing ({DOWN}) +5.0" in line
    assert "VM state reached (stopped) +5.0" in line


def test_routing_stopped_is_the_midpoint_of_the_interval_the_change_lies_in() -> None:
    """Up at 10.0, down at 10.5; the call at 10.2: the change lies in (10.2, 10.5]."""
    late_call = stop_vm(events=c.events((10.2, "inject")))
    (vm,) = compute_phases(late_call).vms
    assert vm.routing_stopped == pytest.approx(c.T0 + 10.35)
    # No sample showed the VM up before it was seen down: the first "down" tick, no earlier.
    never_up = [r for r in routing(20, down={"vm-2": 10.5}) if r["instance"] != "vm-2"
                or r["state"] == "down"]  # fmt: skip
    (vm,) = compute_phases(stop_vm(routing=never_up)).vms
    assert vm.routing_stopped == c.T0 + 10.5
    # A coarse probe: up at 8.0, down at 12.0, call at 10.0 → midpoint of (10.0, 12.0].
    coarse = stop_vm(routing=routing(20, tick=4.0, down={"vm-2": 10.5}))
    (vm,) = compute_phases(coarse).vms
    assert vm.routing_stopped == c.T0 + 11.0
