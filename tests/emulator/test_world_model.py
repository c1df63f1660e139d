"""The world model on its own (no HTTP): the API the data plane and repairs build on."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from emulator.clock import Clock
from emulator.models import ArmError, World
from emulator.topology import parse_topology
from tests.waiting import until

FAST = Clock(0.001)  # a 30 s platform transition lasts 30 ms


def run(test: Callable[[World], Awaitable[Any]], topology: str = "") -> Any:
    async def main() -> Any:
        world = World(parse_topology(topology), FAST, seed=7)
        try:
            return await test(world)
        finally:
            await world.close()

    return asyncio.run(main())


def test_initial_fleet_layout() -> None:
    async def check(world: World) -> None:
        vms = world.vms()
        assert [vm.zone for vm in vms] == ["1", "2", "3", "1", "2", "3"]
        first = ipaddress.IPv4Address(vms[0].address)
        assert first.is_loopback and str(first).startswith("127.0.")
        assert [vm.address for vm in vms] == [str(first + i) for i in range(6)]
        assert [vm.priority for vm in vms] == ["Regular"] * 4 + ["Spot"] * 2
        assert all(vm.power_state == "running" and vm.health_state == "Healthy" for vm in vms)
        assert world.vm(vms[0].name.upper()) is vms[0]
        assert len(world.truth.events(kind="vm_created")) == 6

    run(check)


def test_replace_vm_gives_fresh_name_and_address_in_same_zone() -> None:
    async def check(world: World) -> None:
        old = world.vms()[1]
        new_name = await world.replace_vm(old.name)
        new = world.vm(new_name)
        assert new is not None and world.vm(old.name) is None
        assert new_name != old.name and new_name.startswith("vmss-web_")
        newest = max(ipaddress.IPv4Address(vm.address) for vm in world.vms() if vm is not new)
        assert ipaddress.IPv4Address(new.address) > newest and new.zone == old.zone
        assert new.power_state == "running" and new.provisioning_state == "Succeeded"
        deleted = world.truth.events(kind="vm_deleted")
        assert [(e.vm, e.details["address"]) for e in deleted] == [(old.name, old.address)]
        created = world.truth.events(kind="vm_created", vm=new_name)
        assert created[0].details["address"] == new.address

    run(check)


def test_restart_and_reimage_go_through_the_state_machine() -> None:
    async def check(world: World) -> None:
        name = world.vms()[0].name
        await world.restart_vm(name)
        await world.reimage_vm(name)
        states = [(e.details["from"], e.details["to"]) for e in world.truth.events("power_state")]
        assert (
            states
            == [
                ("running", "stopping"),
                ("stopping", "starting"),
                ("starting", "running"),
            ]
            * 2
        )
        await world._await(world.begin_power_off(name))
        with pytest.raises(ArmError) as caught:
            await world.restart_vm(name)
        assert (caught.value.status, caught.value.code) == (409, "OperationNotAllowed")

    run(check)


def test_spot_eviction_with_delete_policy_removes_the_vm() -> None:
    async def check(world: World) -> None:
        spot = world.vms()[-1]
        world.simulate_eviction(spot.name)
        assert world.truth.events("eviction_scheduled", spot.name)
        await until(lambda: world.vm(spot.name) is None, 5.0, "the evicted VM to be deleted")
        assert world.truth.events("evicted", spot.name)[0].details["policy"] == "Delete"
        assert world.truth.events("vm_deleted", spot.name)[0].details["address"] == spot.address
        leaving = world.truth.events("power_state", spot.name)[0]
        assert (leaving.details["from"], leaving.details["graceful"]) == ("running", False)

    run(check, '[scale_set]\nspot_eviction_policy = "Delete"\n')


def test_operations_on_a_deleting_vm_are_refused() -> None:
    async def check(world: World) -> None:
        name = world.vms()[0].name
        op = world.begin_delete(name)
        with pytest.raises(ArmError, match="marked for deletion"):
            world.begin_start(name)
        await op.done.wait()
        with pytest.raises(ArmError) as caught:
            world.begin_start(name)
        assert caught.value.status == 404

    run(check)


def test_health_reported_by_the_data_plane_wins() -> None:
    async def check(world: World) -> None:
        name = world.vms()[0].name
        world.set_vm_health(name, "Unhealthy")
        await world._await(world.begin_restart(name))
        assert world.vm(name).health_state == "Unhealthy"  # not reset by the model any more
        assert [e.details["state"] for e in world.truth.events("health_state")] == ["Unhealthy"]
        with pytest.raises(ValueError):
            world.set_vm_health(name, "Sick")

    run(check)
