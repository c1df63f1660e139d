"""The load balancer's per-backend health read through the SDK, mapped to VMs by their NICs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from emulator.launcher import RunningEmulator
from fleet.load_balancer import (
    BackendMap,
    BackendRouting,
    LoadBalancerRouting,
    first_probed_rule,
    nic_of,
)
from fleet.target import FleetTarget
from flexchaos.errors import FlexchaosError
from tests.fleet.support import target_of, wait_settled
from tests.waiting import wait_for

NETWORK = "/subscriptions/{subscriptionId}/providers/Microsoft.Network/locations/{location}"
HEALTH_POST = (
    "POST /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/"
    "Microsoft.Network/loadBalancers/{loadBalancerName}/loadBalancingRules/"
    "{loadBalancingRuleName}/health"
)
ONE_QUERY = Counter(
    {
        HEALTH_POST: 1,
        f"GET {NETWORK}/operations/{{operationId}}": 1,
        f"GET {NETWORK}/operationResults/{{operationId}}": 1,
    }
)
NIC = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces"


def _vm(name: str) -> dict[str, Any]:
    nic = {"id": f"{NIC}/{name}-nic", "properties": {"primary": True}}
    return {"name": name, "properties": {"networkProfile": {"networkInterfaces": [nic]}}}


def _entry(name: str, state: str | None = "Up") -> dict[str, Any]:
    # Azure's own example spells the segment `IpConfigurations`: ids compare case-insensitively
    config = f"{NIC}/{name}-nic/IpConfigurations/ipconfig1"
    entry = {"ipAddress": "10.0.0.4", "networkInterfaceIPConfigurationId": config}
    return entry | ({"state": state, "reason": f"{state}_Probe_Success"} if state else {})


def test_backends_map_to_vms_by_their_nic() -> None:
    mapping = BackendMap.from_vms([_vm("vm-a"), _vm("vm-b")])
    assert mapping.vm_for(_entry("vm-b")["networkInterfaceIPConfigurationId"]) == "vm-b"
    assert mapping.vm_for(_entry("vm-z")["networkInterfaceIPConfigurationId"]) is None
    assert nic_of(f"{NIC}/X/ipConfigurations/c") == f"{NIC}/X".lower()
    up = BackendRouting.from_wire(_entry("vm-a"), "vm-a")
    off = BackendRouting.from_wire(_entry("vm-b", state=None), "vm-b")  # empty values: VM off
    assert up.routed and up.instance == "vm-a"
    assert not off.routed and off.reason is None and off.state is None
    assert BackendRouting.from_wire(_entry("vm-z"), None).instance == "10.0.0.4"


def test_the_rule_read_is_the_first_with_a_probe() -> None:
    rules = [
        {"name": "no-probe", "properties": {}},
        {"name": "http", "properties": {"probe": {"id": "/x/probes/health"}}},
    ]
    assert first_probed_rule({"properties": {"loadBalancingRules": rules}}) == "http"
    assert first_probed_rule({"properties": {}}) is None


class FakeInventory:
    def __init__(self, vms: list[dict[str, Any]]) -> None:
        self.vms, self.listings = vms, 0

    def raw_vms(self, *, expand_instance_view: bool = True) -> list[dict[str, Any]]:
        self.listings += 1
        return list(self.vms)


def test_a_new_vm_is_mapped_after_one_more_listing() -> None:
    inventory: Any = FakeInventory([_vm("vm-a")])
    target = FleetTarget.azure("s", "rg", "vmss", load_balancer="lb")  # nothing is called
    routing = LoadBalancerRouting(target, "http", inventory=inventory)
    entries = [_entry("vm-a")]
    routing.health = lambda: entries  # type: ignore[method-assign]
    assert [b.vm for b in routing.backends()] == ["vm-a"] and inventory.listings == 1
    assert [b.vm for b in routing.backends()] == ["vm-a"] and inventory.listings == 1
    inventory.vms.append(_vm("vm-new"))  # a repair's replacement appears in the pool
    entries.append(_entry("vm-new"))
    assert [b.vm for b in routing.backends()] == ["vm-a", "vm-new"] and inventory.listings == 2
    entries.append(_entry("not-a-vm-of-the-set"))
    for _ in range(3):  # listed once more for it, then not again
        assert routing.backends()[-1].vm is None
    assert inventory.listings == 3


@pytest.fixture(scope="module")
def emulator(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    emulator = start_emulator()
    wait_settled(target_of(emulator), 6)
    return emulator


def counters(emulator: RunningEmulator) -> Counter[str]:
    return Counter(emulator.client.requests()["counters"])


def test_every_vm_is_routed_and_one_query_is_three_calls(emulator: RunningEmulator) -> None:
    routing = LoadBalancerRouting(target_of(emulator))
    assert routing.rule() == "http"
    backends = routing.backends()
    assert len(backends) == 6 and all(b.vm and b.routed for b in backends)
    assert {b.reason for b in backends} == {"Up_Probe_Success"}
    before = counters(emulator)
    routing.backends()
    assert counters(emulator) - before == ONE_QUERY  # no listing: the map is kept


def test_a_stopped_vm_stops_being_routed(emulator: RunningEmulator) -> None:
    target = target_of(emulator)
    routing = LoadBalancerRouting(target)
    vm = sorted(b.vm for b in routing.backends() if b.vm)[0]
    target.clients.compute.virtual_machines.begin_power_off(target.resource_group, vm).result()
    gone = wait_for(
        lambda: next(b for b in routing.backends() if b.vm == vm).routed is False,
        timeout=20,
        what=f"{vm} no longer routed",
    )
    assert gone
    states = {b.vm: b.routed for b in routing.backends()}
    assert sum(states.values()) == 5 and states[vm] is False


def test_a_target_without_a_load_balancer_is_refused(emulator: RunningEmulator) -> None:
    target: FleetTarget = target_of(emulator, load_balancer=None)
    with pytest.raises(FlexchaosError, match="names no load balancer"):
        LoadBalancerRouting(target)
    with pytest.raises(FlexchaosError, match="not found"):
        LoadBalancerRouting(target_of(emulator), "no-such-rule").backends()
