"""The probes and metrics on the emulator, over real sockets, checked against ground truth.

Power off one VM while the traffic probe runs through the load balancer and the capacity probe
reads the fleet inventory through the SDK; then start it again. Failures must fall exactly
between the VM's app going down and the load balancer's probe marking it down, the failover
time must not exceed the truth, healthy capacity must dip by one VM and come back, and the
failed requests must be the load balancer's failed relays.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pandas as pd
import pytest

from emulator.launcher import RunningEmulator
from fleet.inventory import Inventory
from fleet.target import FleetTarget
from probes.capacity import CapacityProbe
from probes.measures import Clock
from probes.metrics import compute_metrics
from probes.probe_settings import ProbeSettings
from probes.timeline import Timeline
from probes.traffic import TrafficProbe
from tests.waiting import wait_for

# A slow load-balancer probe (20 platform s = 0.4 s wall at 0.02, three failures to mark a
# backend down) so that the window in which the balancer still sends new flows to the stopped
# VM lasts 0.8-1.2 s whatever the probe's phase, and always holds several probe requests.
TOPOLOGY = """
[load_balancer]
probe_interval_in_seconds = 20
probe_threshold = 3
"""


def lb_state(arm_url: str) -> dict[str, Any]:
    response = httpx.get(f"{arm_url}/_emulator/lb", timeout=10)
    response.raise_for_status()
    return response.json()


def first_after(events: list[dict[str, Any]], since: float) -> float | None:
    times = sorted(e["time"] for e in events if e["time"] >= since)
    return times[0] if times else None


@pytest.fixture(scope="module")
def slow_probe_emulator(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return start_emulator(TOPOLOGY)


def test_stop_and_start_a_vm_measured_against_truth(slow_probe_emulator: RunningEmulator) -> None:
    emulator = slow_probe_emulator
    info = emulator.info
    assert info.lb_url, "the emulator must announce its load balancer"
    truth = emulator.client
    target = FleetTarget.from_emulator(info)
    compute = target.clients.compute
    wait_for(
        lambda: all(b["state"] == "up" for b in lb_state(info.arm_url)["backends"]),
        timeout=30,
        what="every backend up",
    )
    vm = lb_state(info.arm_url)["backends"][0]["vm"]

    capacity = CapacityProbe(Inventory(target).instances, tick_s=0.1, max_duration_s=60).start()
    traffic = TrafficProbe(info.lb_url, rate_hz=100, max_duration_s=60).start()
    try:
        wait_for(lambda: len(traffic.frame()) >= 50, timeout=20, what="a baseline of traffic")
        inject = time.time()
        compute.virtual_machines.begin_power_off(info.resource_group, vm).result()
        probe_down = wait_for(
            lambda: first_after(truth.truth(kind="probe_down", vm=vm), inject),
            timeout=30,
            what=f"probe_down of {vm}",
        )
        wait_for(
            lambda: (traffic.frame()["start"] > probe_down + 1.5).sum() >= 20,
            timeout=30,
            what="traffic for a quiet window after probe_down",
        )
        revert = time.time()
        compute.virtual_machines.begin_start(info.resource_group, vm).result()
        wait_for(
            lambda: first_after(truth.truth(kind="probe_up", vm=vm), revert),
            timeout=30,
            what=f"probe_up of {vm}",
        )
        wait_for(
            lambda: all(i.running and i.healthy for i in Inventory(target).instances()),
            timeout=30,
            what="every VM running and healthy again",
        )
        healthy_again = time.time()
        wait_for(lambda: len(capacity.frame()) >= 12 * 6, timeout=10, what="capacity ticks")
        wait_for(  # the probe itself saw it: a sample after the fleet was whole again
            lambda: _whole_since(capacity.frame(), healthy_again),
            timeout=10,
            what="a capacity sample showing the whole set healthy",
        )
    finally:
        requests = traffic.stop()
        samples = capacity.stop()

    events = [
        {"time": inject, "kind": "inject", "fault": "stop", "vm": vm},
        {"time": revert, "kind": "revert", "fault": "stop", "vm": vm},
    ]
    metrics = compute_metrics(
        Timeline.build(requests=requests, capacity=samples, events=events),
        probe=ProbeSettings(
            interval_s=20, threshold=3
        ),  # the topology's: a 1.2 s wall quiet window
        clock=Clock(info.time_scale),
    )

    app_down = first_after(truth.truth(kind="app_down", vm=vm), inject)
    assert app_down is not None
    failed = requests[~requests["ok"]]
    assert len(failed) > 0, "the slow probe leaves a window of failures to measure"
    ends = failed["start"] + failed["latency_ms"] / 1000
    assert (ends >= app_down).all(), "no request fails before the VM's app is down"
    assert (failed["start"] <= probe_down).all(), "none fails after the balancer's probe_down"
    served_after = requests[(requests["start"] > probe_down) & (requests["start"] < revert)]
    assert served_after["ok"].all() and vm not in set(served_after["served_by"])

    assert metrics.failover_time_s is not None
    assert 0 < metrics.failover_time_s <= probe_down - inject
    # a request in flight when the VM went down fails too, but started before the injection:
    # it is in the load balancer's failed relays, not in the failover's disruption
    counted = int((failed["start"] >= inject).sum())
    assert len(metrics.disruptions) == 1 and metrics.disruptions[0].failures == counted
    assert lb_state(info.arm_url)["failed_relays"] == len(failed)  # the probe is the only client

    assert metrics.baseline_instances == 6
    assert metrics.min_healthy_capacity == pytest.approx(5 / 6)
    assert metrics.recovered is True and metrics.recovery_time_s is not None
    assert metrics.recovery_time_s > 0
    assert metrics.min_serving_capacity is not None and metrics.min_serving_capacity < 1


def _whole_since(samples: pd.DataFrame, since: float) -> bool:
    """True once a capacity sample taken after `since` shows all six VMs healthy."""
    later = samples[samples["time"] > since]
    return bool((later.groupby("time")["healthy"].sum() >= 6).any())
