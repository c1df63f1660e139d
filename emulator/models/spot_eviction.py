"""Spot eviction (docs/azure-behaviour.md §2.5): `simulateEviction` schedules a Preempt notice;
after it the VM is deallocated or deleted, as its eviction policy says, through the same
operation engine as every other power change.
"""

from __future__ import annotations

import asyncio

from emulator.models.errors import OperationNotAllowed
from emulator.models.power_states import PowerStateMachine
from emulator.models.vm import VirtualMachine


class SpotEviction(PowerStateMachine):
    """Evictions of the world's Spot VMs; mixed into World."""

    def simulate_eviction(self, name: str) -> None:
        """Schedule a Spot eviction after the Preempt notice (synchronous 204 in Azure)."""
        vm = self._existing(name)
        if vm.priority != "Spot":
            raise OperationNotAllowed(
                f"Operation 'simulateEviction' is not allowed on VM '{vm.name}' since the VM "
                "is not an Azure Spot virtual machine."
            )
        self._check_not_deleting(vm, "simulateEviction")
        if vm.power_state in ("deallocated", "deallocating"):
            raise self._deallocated(vm, "simulateEviction")
        if vm.eviction_not_before is not None:
            return  # already scheduled: one eviction per notice
        vm.eviction_not_before = self.clock.now() + self.clock.wall(self._t.eviction_notice)
        self.truth.record(
            "eviction_scheduled",
            vm.name,
            not_before=vm.eviction_not_before,
            policy=vm.eviction_policy,
        )
        self._spawn(self._evict_after_notice(vm))

    async def _evict_after_notice(self, vm: VirtualMachine) -> None:
        # Event-loop timers may fire a little early: never evict before the notice's NotBefore.
        while (remaining := (vm.eviction_not_before or 0) - self.clock.now()) > 0:
            await asyncio.sleep(remaining + 0.001)
        while vm.busy and vm.operation is not None:
            await vm.operation.done.wait()
        vm.eviction_not_before = None
        if vm.deleted or vm.power_state == "deallocated":
            return
        self.truth.record("evicted", vm.name, policy=vm.eviction_policy)
        if vm.eviction_policy == "Delete":
            op = self._accept(vm, "evict", self._t.delete)
            vm.operation = op
            vm.provisioning_state = "Deleting"
            await self._run(vm, op, [("deallocating", self._t.delete)], False, self._remove)
        else:
            op = self._accept(vm, "evict", self._t.deallocate)
            vm.operation = op
            vm.provisioning_state = "Updating"
            steps = [("deallocating", self._t.deallocate), ("deallocated", 0.0)]
            await self._run(vm, op, steps, False, None)
