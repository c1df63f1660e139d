"""Automatic repairs against the real world model, in-process with a fast clock: which VMs are
due, in what batches, and what a Restart repair does. (The Replace path end to end, through the
SDK and the load balancer, is in test_data_plane.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
import uvloop

from emulator.clock import Clock
from emulator.models import World
from emulator.repairs import AutomaticRepairs, batch_size
from emulator.topology import parse_topology
from tests.waiting import until

T = TypeVar("T")
TIME_SCALE = 0.002  # the 600 s grace lasts 1.2 s wall


def run(body: Callable[[], Awaitable[T]]) -> T:
    async def bounded() -> T:
        return await asyncio.wait_for(body(), 20)

    return uvloop.run(bounded())


def world(vm_count: int, action: str = "Replace") -> World:
    topology = parse_topology(
        f"""
[scale_set]
vm_count = {vm_count}
spot_count = 0
zones = ["1"]
[automatic_repairs]
grace_period = "PT10M"
repair_action = "{action}"
"""
    )
    return World(topology, Clock(TIME_SCALE), seed=7)


@pytest.mark.parametrize(("instances", "at_once"), [(1, 1), (19, 1), (20, 1), (40, 2), (100, 5)])
def test_batch_is_five_percent_and_one_at_a_time_under_twenty(instances: int, at_once: int) -> None:
    assert batch_size(instances) == at_once


def test_only_running_unhealthy_vms_past_the_grace_are_due_one_at_a_time() -> None:
    async def body() -> None:
        w = world(4)
        repairs = AutomaticRepairs(w)
        a, b, c, d = (vm.name for vm in w.vms())
        for name in (a, b, c):
            w.set_vm_health(name, "Unhealthy")
        w.set_vm_health(d, "Healthy")
        await w.begin_power_off(c).done.wait()  # stopped VMs are never repaired
        assert repairs.due() == []  # within the grace since creation
        grace_s = w.clock.wall(600)
        await until(lambda: repairs.due(), grace_s + 5, "the grace period to pass")
        assert repairs.due() == [a]  # one at a time under 20 instances (a before b)
        repairs.in_progress.add(a)
        assert repairs.due() == []  # the batch is full
        repairs.in_progress.clear()
        op = w.begin_restart(b)  # a state change in progress, then a fresh grace
        assert repairs.due() == [a]
        await op.done.wait()
        w.set_vm_health(a, "Healthy")  # only b is left to repair
        assert repairs.due() == []  # b's grace restarted when its restart completed
        await until(lambda: repairs.due(), grace_s + 5, "b's new grace period to pass")
        assert repairs.due() == [b]
        await w.close()

    run(body)


def test_restart_repair_records_start_and_finish_and_restarts_the_vm() -> None:
    async def body() -> None:
        w = world(2, action="Restart")
        repairs = AutomaticRepairs(w)
        victim = w.vms()[0].name
        w.set_vm_health(victim, "Unhealthy")
        repairs.start()
        finished = await until(
            lambda: w.truth.events("repair_finished", victim), 10, "the repair to finish"
        )
        started = w.truth.events("repair_started", victim)[0]
        assert started.time - w.vms()[0].time_created >= w.clock.wall(600) - 0.01
        assert finished[0].details == {
            "action": "Restart",
            "replacement": None,
            "status": "succeeded",
        }
        states = [e.details["to"] for e in w.truth.events("power_state", victim)]
        assert states[-1] == "running" and "stopping" in states
        assert {vm.name for vm in w.vms()} == {victim, w.vms()[1].name}  # kept, not replaced
        await repairs.stop()
        await w.close()

    run(body)


def test_disabled_policy_repairs_nothing() -> None:
    async def body() -> None:
        topology = parse_topology(
            "[scale_set]\nvm_count = 1\nspot_count = 0\n[automatic_repairs]\nenabled = false\n"
        )
        w = World(topology, Clock(TIME_SCALE))
        repairs = AutomaticRepairs(w)
        repairs.start()
        assert repairs._task is None
        await w.close()

    run(body)
