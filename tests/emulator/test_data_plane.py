"""The data plane end to end: a real emulator process, the real Azure SDK for faults and reads,
and real HTTP traffic through the load balancer's frontend (lb_url), checked against ground truth.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ResourceNotFoundError

from emulator.launcher import RunningEmulator
from fleet.clients import Clients
from tests.conftest import clients_for
from tests.waiting import wait_for

# Three Regular VMs and one Spot; a 60 s probe interval (1.2 s wall) so that the gap between a VM
# going away and its probe noticing is visible to the traffic; no repairs (tested below).
TRAFFIC_TOPOLOGY = """
[scale_set]
vm_count = 4
spot_count = 1
zones = ["1", "2"]
[load_balancer]
probe_interval_in_seconds = 60
[automatic_repairs]
enabled = false
"""

# Three VMs with a 10-minute grace (12 s wall at 0.02) and Replace: the minimum Azure allows.
REPAIR_TOPOLOGY = """
[scale_set]
vm_count = 3
spot_count = 0
zones = ["1"]
[automatic_repairs]
enabled = true
grace_period = "PT10M"
repair_action = "Replace"
"""

MAX_REQUESTS = 3000


@dataclass(frozen=True)
class Outcome:
    start: float
    ok: bool
    served_by: str | None


class Traffic:
    """Requests through the load balancer, each on a new connection (a new flow)."""

    def __init__(self, lb_url: str) -> None:
        self._http = httpx.Client(base_url=lb_url, timeout=2.0, headers={"Connection": "close"})

    def one(self) -> Outcome:
        start = time.time()
        try:
            response = self._http.get("/")
        except httpx.TransportError:
            return Outcome(start, False, None)
        return Outcome(start, response.status_code == 200, response.headers.get("x-served-by"))

    def until(self, condition: Callable[[], bool], timeout: float) -> list[Outcome]:
        """Send requests one after another until condition() holds (bounded in count/time)."""
        outcomes: list[Outcome] = []
        deadline = time.monotonic() + timeout
        while not condition():
            assert len(outcomes) < MAX_REQUESTS and time.monotonic() < deadline, (
                f"condition not met after {len(outcomes)} requests"
            )
            outcomes.append(self.one())
        return outcomes

    def batch(self, count: int) -> list[Outcome]:
        return [self.one() for _ in range(count)]

    def close(self) -> None:
        self._http.close()


@pytest.fixture(scope="module")
def emulator(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return start_emulator(TRAFFIC_TOPOLOGY)


@pytest.fixture(scope="module")
def clients(emulator: RunningEmulator) -> Clients:
    return clients_for(emulator)


@pytest.fixture(scope="module")
def traffic(emulator: RunningEmulator) -> Iterator[Traffic]:
    assert emulator.info.lb_url, "the ready line carries lb_url"
    t = Traffic(emulator.info.lb_url)
    yield t
    t.close()


def _vms(clients: Clients, emulator: RunningEmulator) -> list[Any]:
    info = emulator.info
    scale_set_id = (
        f"/subscriptions/{info.subscription_id}/resourceGroups/{info.resource_group}"
        f"/providers/Microsoft.Compute/virtualMachineScaleSets/{info.scale_set}"
    )
    return list(
        clients.compute.virtual_machines.list(
            info.resource_group,
            filter=f"'virtualMachineScaleSet/id' eq '{scale_set_id}'",
            expand="instanceView",
        )
    )


def _health(vm: Any) -> str | None:
    view = vm.instance_view
    if view is None or view.vm_health is None:
        return None
    return view.vm_health.status.code


def _power(vm: Any) -> str:
    return next(s.code for s in vm.instance_view.statuses if s.code.startswith("PowerState/"))


def _first_time(emulator: RunningEmulator, kind: str, vm: str, since: float) -> float | None:
    times = [e["time"] for e in emulator.client.truth(kind=kind, vm=vm) if e["time"] >= since]
    return min(times) if times else None


def _lb_state(emulator: RunningEmulator) -> dict[str, Any]:
    response = httpx.get(emulator.info.arm_url + "/_emulator/lb", timeout=5)
    response.raise_for_status()
    return response.json()


def test_load_balancer_resource_shows_frontend_pool_probe_and_rule(
    clients: Clients, emulator: RunningEmulator
) -> None:
    info = emulator.info
    assert info.load_balancer
    lb = clients.network.load_balancers.get(info.resource_group, info.load_balancer)
    vms = _vms(clients, emulator)
    assert lb.name == info.load_balancer and lb.sku.name == "Standard"
    assert lb.frontend_ip_configurations[0].private_ip_address == "127.0.0.1"
    rule = lb.load_balancing_rules[0]
    assert f"http://127.0.0.1:{rule.frontend_port}" == info.lb_url
    assert rule.protocol == "Tcp" and rule.load_distribution == "Default"
    members = lb.backend_address_pools[0].load_balancer_backend_addresses
    assert {m.name for m in members} == {vm.name for vm in vms}
    nic_ids = {vm.network_profile.network_interfaces[0].id for vm in vms}
    configs = {c.id for c in lb.backend_address_pools[0].backend_ip_configurations}
    assert {c.rsplit("/ipConfigurations/", 1)[0] for c in configs} == nic_ids
    probe = lb.probes[0]
    assert (probe.protocol, probe.request_path, probe.interval_in_seconds) == (
        "Http",
        "/health",
        60,
    )
    assert probe.port == rule.backend_port and probe.probe_threshold == 1
    assert {b["address"] for b in _lb_state(emulator)["backends"]} == {
        m.ip_address for m in members
    }
    with pytest.raises(ResourceNotFoundError):
        clients.network.load_balancers.get(info.resource_group, "no-such-lb")


def test_power_off_fails_new_flows_only_until_the_probe_marks_the_vm_down(
    clients: Clients, emulator: RunningEmulator, traffic: Traffic
) -> None:
    rg = emulator.info.resource_group
    victim = next(vm.name for vm in _vms(clients, emulator) if vm.priority == "Regular")
    assert all(o.ok for o in traffic.batch(20))
    before = _lb_state(emulator)["failed_relays"]

    injected = time.time()
    poller = clients.compute.virtual_machines.begin_power_off(rg, victim)
    during = traffic.until(
        lambda: _first_time(emulator, "probe_down", victim, injected) is not None, timeout=15
    )
    probe_down = _first_time(emulator, "probe_down", victim, injected)
    app_down = _first_time(emulator, "app_down", victim, injected)
    assert probe_down is not None and app_down is not None and app_down <= probe_down
    failures = [o for o in during if not o.ok]
    if probe_down - app_down >= 0.2:  # the probe's phase is random: usually a visible gap
        assert failures, "new flows hashed to the VM fail until its probe notices"
    assert all(o.start < probe_down for o in failures)
    # nothing failed while the VM still served (0.1 s: a request in flight as the app stopped)
    assert all(o.start >= app_down - 0.1 for o in failures)
    after = traffic.batch(60)
    assert all(o.ok for o in after)
    assert victim not in {o.served_by for o in after}
    assert _lb_state(emulator)["failed_relays"] - before == len(failures)
    poller.result()

    started = time.time()
    clients.compute.virtual_machines.begin_start(rg, victim).result()
    wait_for(
        lambda: _first_time(emulator, "probe_up", victim, started),
        timeout=10,
        what="the started VM's probe to be up again",
    )
    served = traffic.batch(60)
    assert all(o.ok for o in served)
    assert victim in {o.served_by for o in served}


def test_spot_eviction_takes_the_vm_out_of_traffic_after_the_notice(
    clients: Clients, emulator: RunningEmulator, traffic: Traffic
) -> None:
    rg = emulator.info.resource_group
    spot = next(vm.name for vm in _vms(clients, emulator) if vm.priority == "Spot")
    events_url = f"{emulator.info.arm_url}/_emulator/vms/{spot}/scheduledEvents"
    asked = time.time()
    clients.compute.virtual_machines.simulate_eviction(rg, spot)
    notice = httpx.get(events_url, timeout=5).json()
    assert [e["EventType"] for e in notice["Events"]] == ["Preempt"]
    assert notice["Events"][0]["Resources"] == [spot]
    assert notice["Events"][0]["NotBefore"] > asked
    assert spot in {o.served_by for o in traffic.batch(40)}  # still serving during the notice

    traffic.until(lambda: _first_time(emulator, "probe_down", spot, asked) is not None, 15)
    evicted = _first_time(emulator, "evicted", spot, asked)
    app_down = [e for e in emulator.client.truth(kind="app_down", vm=spot) if e["time"] >= asked]
    assert evicted is not None and evicted >= notice["Events"][0]["NotBefore"] - 0.05
    assert app_down and app_down[0]["mode"] == "abrupt"  # an eviction drops connections
    after = traffic.batch(60)
    assert all(o.ok for o in after)
    assert spot not in {o.served_by for o in after}
    assert httpx.get(events_url, timeout=5).json()["Events"] == []


def test_app_health_switch_drives_both_the_probe_and_the_extension(
    clients: Clients, emulator: RunningEmulator, traffic: Traffic
) -> None:
    rg = emulator.info.resource_group
    running = [vm for vm in _vms(clients, emulator) if _power(vm) == "PowerState/running"]
    target = running[-1].name
    url = f"{emulator.info.arm_url}/_emulator/vms/{target}/app"
    bad = httpx.post(url, json={"healthy": "no"}, timeout=5)
    assert bad.status_code == 400 and "healthy" in bad.json()["error"]["message"]

    since = time.time()
    assert httpx.post(url, json={"healthy": False}, timeout=5).json()["healthy"] is False
    wait_for(lambda: _first_time(emulator, "probe_down", target, since), timeout=10, what="down")
    wait_for(
        lambda: (
            _health(clients.compute.virtual_machines.get(rg, target, expand="instanceView"))
            == "HealthState/unhealthy"
        ),
        timeout=10,
        what="vmHealth unhealthy",
    )
    assert target not in {o.served_by for o in traffic.batch(40)}

    httpx.post(url, json={"healthy": True}, timeout=5).raise_for_status()
    wait_for(
        lambda: (
            _health(clients.compute.virtual_machines.get(rg, target, expand="instanceView"))
            == "HealthState/healthy"
        ),
        timeout=10,
        what="vmHealth healthy again",
    )
    wait_for(lambda: _first_time(emulator, "probe_up", target, since), timeout=10, what="up")
    assert target in {o.served_by for o in traffic.batch(60)}


def test_broken_health_extension_gets_the_vm_replaced_after_the_grace_period(
    start_emulator: Callable[..., RunningEmulator],
) -> None:
    emulator = start_emulator(REPAIR_TOPOLOGY)
    clients = clients_for(emulator)
    traffic = Traffic(emulator.info.lb_url or "")
    try:
        rg = emulator.info.resource_group
        original = {vm.name for vm in _vms(clients, emulator)}
        victim = sorted(original)[0]
        extensions = clients.compute.virtual_machine_extensions
        health = extensions.get(rg, victim, "ApplicationHealthLinux")
        broken = {**dict(health.properties.settings), "requestPath": "/broken"}
        extensions.begin_update(
            rg, victim, "ApplicationHealthLinux", {"properties": {"settings": broken}}
        ).result()
        changed = time.time()  # the grace period starts when this change has completed

        wait_for(
            lambda: (
                _health(clients.compute.virtual_machines.get(rg, victim, expand="instanceView"))
                == "HealthState/unhealthy"
            ),
            timeout=10,
            what="vmHealth unhealthy",
        )
        # Two independent signals: the LB probes /health, which still answers 200.
        assert victim in {o.served_by for o in traffic.batch(60)}

        finished = wait_for(
            lambda: emulator.client.truth(kind="repair_finished", vm=victim),
            timeout=40,
            what="the repair to finish",
        )[0]
        started = emulator.client.truth(kind="repair_started", vm=victim)[0]
        grace_wall = 600 * emulator.info.time_scale
        assert started["time"] - changed >= grace_wall - 0.5
        assert finished["action"] == "Replace" and finished["status"] == "succeeded"
        replacement = finished["replacement"]
        assert replacement and replacement not in original
        # Replace creates the new VM without waiting for the old one's deletion (Azure)
        created = emulator.client.truth(kind="vm_created", vm=replacement)[0]["time"]
        deleted = emulator.client.truth(kind="vm_deleted", vm=victim)[0]["time"]
        assert created < deleted

        wait_for(
            lambda: replacement in {o.served_by for o in traffic.batch(10)},
            timeout=15,
            what="the replacement to serve traffic",
        )

        def full_healthy_capacity() -> bool:
            vms = _vms(clients, emulator)
            return (
                {vm.name for vm in vms} == (original - {victim}) | {replacement}
                and all(_power(vm) == "PowerState/running" for vm in vms)
                and all(_health(vm) == "HealthState/healthy" for vm in vms)
            )

        wait_for(full_healthy_capacity, timeout=15, what="full healthy capacity")
        after = traffic.batch(60)
        assert all(o.ok for o in after) and victim not in {o.served_by for o in after}
        lb = clients.network.load_balancers.get(rg, emulator.info.load_balancer or "")
        members = {m.name for m in lb.backend_address_pools[0].load_balancer_backend_addresses}
        assert members == (original - {victim}) | {replacement}
    finally:
        traffic.close()


def test_a_busy_lb_port_is_one_readable_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "flexchaos", "emulator", "--lb-port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert f"127.0.0.1:{port} for the load balancer" in lines[0] and "--lb-port" in lines[0]
