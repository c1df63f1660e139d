"""Automatic instance repairs of the scale set (docs/azure-behaviour.md §3.4).

A running VM whose Application Health extension reports Unhealthy (or Unknown) is repaired with
the set's `repairAction` once `gracePeriod` (platform seconds) has passed since its last state
change completed (any operation on it or its extensions, or its creation). Replace deletes it
and creates a new VM from the profile (new name and address; it joins the load balancer's pool);
Restart and Reimage keep it. At most 5% of the set is repaired at a time, one at a time under
20 instances. Stopped and deallocated VMs are never repaired (no health signal leaves them).

Not modelled: the suspension of repairs after repeated failed repairs, instance protection.
"""

from __future__ import annotations

import asyncio
import contextlib
import math

from emulator.models import ArmError, World
from emulator.truth import TruthEvent

REPAIRABLE_HEALTH = ("Unhealthy", "Unknown")
MIN_TICK_WALL_S = 0.05
STATE_CHANGE_FACTS = ("operation_completed", "vm_created")


def batch_size(instances: int) -> int:
    """How many repairs may run at once: 5% of the set, one at a time under 20 instances."""
    if instances < 20:
        return 1
    return max(1, math.floor(instances * 0.05))


class AutomaticRepairs:
    """Watches the world's VMs and repairs unhealthy running ones after the grace period."""

    def __init__(self, world: World) -> None:
        self.world = world
        policy = world.scale_set.automatic_repairs
        self.enabled = policy.enabled
        self.action = policy.repair_action
        self.grace_platform_s = policy.grace_period_seconds
        self.in_progress: set[str] = set()
        self._last_change: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._repairs: set[asyncio.Task[None]] = set()
        world.truth.subscribe(self._on_fact)

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._repairs) if t is not None]
        self._task = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _on_fact(self, event: TruthEvent) -> None:
        if event.vm is not None and event.kind in STATE_CHANGE_FACTS:
            self._last_change[event.vm] = event.time

    def due(self) -> list[str]:
        """Names of the VMs a repair should start on now, oldest first, within the batch."""
        world = self.world
        now = world.clock.now()
        grace = world.clock.wall(self.grace_platform_s)
        vms = world.vms()
        free = batch_size(len(vms)) - len(self.in_progress)
        due: list[str] = []
        for vm in vms:
            if len(due) >= free:
                break
            if (
                vm.name in self.in_progress
                or vm.power_state != "running"
                or vm.busy
                or vm.provisioning_state != "Succeeded"
                or vm.health_state not in REPAIRABLE_HEALTH
            ):
                continue
            changed = max(vm.time_created, self._last_change.get(vm.name, 0.0))
            if now - changed >= grace:
                due.append(vm.name)
        return due

    async def _run(self) -> None:
        tick = max(MIN_TICK_WALL_S, self.world.clock.wall(1.0))
        while True:
            for name in self.due():
                self.in_progress.add(name)
                task = asyncio.get_running_loop().create_task(self._repair(name))
                self._repairs.add(task)
                task.add_done_callback(self._repairs.discard)
            await asyncio.sleep(tick)

    async def _repair(self, name: str) -> None:
        truth = self.world.truth
        truth.record("repair_started", name, action=self.action)
        replacement: str | None = None
        status = "succeeded"
        try:
            if self.action == "Replace":
                replacement = await self.world.replace_vm(name)
            elif self.action == "Restart":
                await self.world.restart_vm(name)
            else:
                await self.world.reimage_vm(name)
        except ArmError as exc:  # e.g. someone else started an operation on the VM meanwhile
            status = f"failed: {exc.code}"
        finally:
            self.in_progress.discard(name)
        truth.record(
            "repair_finished", name, action=self.action, replacement=replacement, status=status
        )
