"""The load balancer's per-backend health status, through Azure's own route, driven by the real
azure-mgmt-network client over HTTP (`load_balancer_load_balancing_rules.begin_health`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ResourceNotFoundError

from emulator.launcher import RunningEmulator
from fleet.clients import Clients
from tests.conftest import clients_for
from tests.waiting import wait_for

RULE = "http"  # the rule the load balancer's GET names
HEALTH = (
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Network/loadBalancers/{lb}"
    "/loadBalancingRules/{rule}/health"
)
DOWN_REASONS = {
    "Down_Probe_HttpStatusCodeError",
    "Down_Probe_HttpEndpointUnreachable",
    "Down_Probe_HttpNoResponse",
    "Down_Probe_TcpProbeTimeout",
}


@pytest.fixture(scope="module")
def emulator(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return start_emulator()  # its own: these tests stop a VM and break an app


@pytest.fixture(scope="module")
def clients(emulator: RunningEmulator) -> Clients:
    return clients_for(emulator)


def _health(clients: Clients, emulator: RunningEmulator, rule: str = RULE) -> dict[str, Any]:
    info = emulator.info
    poller = clients.network.load_balancer_load_balancing_rules.begin_health(
        info.resource_group, info.load_balancer or "", rule
    )
    return poller.result(timeout=30).as_dict()


def _entry(health: dict[str, Any], address: str) -> dict[str, Any]:
    return next(e for e in health["loadBalancerBackendAddresses"] if e["ipAddress"] == address)


def _backends(emulator: RunningEmulator) -> dict[str, str]:
    """VM name → its address, from the emulator's own account of its load balancer."""
    lb = httpx.get(emulator.info.arm_url + "/_emulator/lb", timeout=10).json()
    return {b["vm"]: b["address"] for b in lb["backends"]}


def test_every_backend_is_up_with_its_address_and_nic(
    clients: Clients, emulator: RunningEmulator
) -> None:
    health = _health(clients, emulator)
    backends = _backends(emulator)
    assert health["up"] == len(backends) == 6 and health["down"] == 0
    vms = clients.compute.virtual_machines.list(emulator.info.resource_group)
    nics = {vm.name: vm.network_profile.network_interfaces[0].id for vm in vms}
    for vm, address in backends.items():
        entry = _entry(health, address)
        assert entry["state"] == "Up" and entry["reason"] == "Up_Probe_Success"
        # the backend names the NIC ipConfiguration of the VM's own NIC
        config = entry["networkInterfaceIPConfigurationId"].lower()
        assert config.startswith(nics[vm].lower() + "/ipconfigurations/")


def test_the_route_is_azures_long_running_post(emulator: RunningEmulator) -> None:
    """POST → 202 with Location and Azure-AsyncOperation under Microsoft.Network's locations;
    the monitor says Succeeded; the Location answers 200 with LoadBalancerHealthPerRule."""
    info = emulator.info
    path = HEALTH.format(
        sub=info.subscription_id, rg=info.resource_group, lb=info.load_balancer, rule=RULE
    )
    headers = {"Authorization": f"Bearer {info.token}"}
    with httpx.Client(base_url=info.arm_url, headers=headers, timeout=10) as http:
        accepted = http.post(path, params={"api-version": "2026-03-01"})
        assert accepted.status_code == 202
        location = accepted.headers["Location"]
        monitor = accepted.headers["Azure-AsyncOperation"]
        prefix = f"/subscriptions/{info.subscription_id}/providers/Microsoft.Network/locations/"
        assert prefix + f"{info.location}/operationResults/" in location
        assert prefix + f"{info.location}/operations/" in monitor
        assert http.get(monitor).json()["status"] == "Succeeded"
        result = http.get(location)
        assert result.status_code == 200
        body = result.json()
        assert set(body) == {"up", "down", "loadBalancerBackendAddresses"}
        assert body["up"] == 6


def test_an_app_answering_503_is_down_with_azures_reason(
    clients: Clients, emulator: RunningEmulator
) -> None:
    vm, address = sorted(_backends(emulator).items())[0]
    app = f"{emulator.info.arm_url}/_emulator/vms/{vm}/app"
    httpx.post(app, json={"healthy": False}, timeout=10).raise_for_status()
    try:
        entry = wait_for(
            lambda: (e := _entry(_health(clients, emulator), address))["state"] == "Down" and e,
            timeout=20,
            what=f"{vm} to be Down in the rule's health",
        )
        assert entry["reason"] == "Down_Probe_HttpStatusCodeError"
    finally:
        httpx.post(app, json={"healthy": True}, timeout=10).raise_for_status()
    wait_for(
        lambda: _entry(_health(clients, emulator), address)["state"] == "Up",
        timeout=20,
        what=f"{vm} back Up",
    )


def test_a_stopped_vm_goes_down_then_has_no_status(
    clients: Clients, emulator: RunningEmulator
) -> None:
    """While it stops the probe sees it fail (Down, with a reason); once stopped it is not
    probed and, as Azure does for a VM that is turned off, its entry carries no state."""
    rg = emulator.info.resource_group
    vm, address = sorted(_backends(emulator).items())[-1]
    seen: list[dict[str, Any]] = []
    poller = clients.compute.virtual_machines.begin_power_off(rg, vm)
    while not poller.done():  # bounded by the power-off duration (15 s platform)
        seen.append(_entry(_health(clients, emulator), address))
    poller.result(timeout=30)
    final = wait_for(
        lambda: "state" not in (e := _entry(_health(clients, emulator), address)) and e,
        timeout=20,
        what=f"{vm}'s entry to lose its state once stopped",
    )
    assert "reason" not in final
    down = [e for e in seen if e.get("state") == "Down"]
    assert down, f"never Down while the VM was stopping: {seen}"
    assert all(e["reason"] in DOWN_REASONS for e in down)
    assert {e.get("state") for e in seen} <= {"Up", "Down", None}
    health = _health(clients, emulator)
    assert health["up"] == 5 and health["down"] == 0  # an entry with no state counts as neither
    assert emulator.client.truth("probe_down", vm)  # the load balancer took it out


def test_an_unknown_rule_or_load_balancer_is_not_found(
    clients: Clients, emulator: RunningEmulator
) -> None:
    with pytest.raises(ResourceNotFoundError):
        _health(clients, emulator, rule="no-such-rule")
    with pytest.raises(ResourceNotFoundError):
        clients.network.load_balancer_load_balancing_rules.begin_health(
            emulator.info.resource_group, "no-such-lb", RULE
        ).result(timeout=30)
