"""Spot eviction: `simulateEviction` on a Spot VM, which goes after its Preempt notice.

Refused by the guard (before any call) on a Regular VM. The revert starts the VM again when its
eviction policy is Deallocate; with policy Delete the VM is gone and there is nothing to restore.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from fleet.faults.base import GONE, Effect, Fault, Intent, NothingToRevert
from fleet.faults.power import start_unless_running
from fleet.inventory import Instance
from fleet.journal import JournalEntry
from fleet.operations import VmOps
from flexchaos.errors import OperationTimeout


class Evict(Fault):
    name = "evict"
    summary = "Spot eviction (simulateEviction); revert starts it if the policy is Deallocate"
    spot_only = True
    actions: ClassVar[Mapping[str, str]] = {
        "Microsoft.Compute/virtualMachines/simulateEviction/action": "evict the Spot VM",
        "Microsoft.Compute/virtualMachines/start/action": "start it again (the revert)",
    }

    def inject_calls(self, rg: str, vm: str, options: Mapping[str, Any]) -> list[str]:
        return [
            f"virtual_machines.simulate_eviction({rg}, {vm})",
            "wait until deallocated (policy Deallocate) or deleted (policy Delete)",
        ]

    def revert_calls(self, rg: str, vm: str, options: Mapping[str, Any]) -> list[str]:
        return [f"virtual_machines.begin_start({rg}, {vm}) if its eviction policy is Deallocate"]

    def prepare(
        self, ops: VmOps, instances: Sequence[Instance], options: Mapping[str, Any], hold_s: float
    ) -> list[Intent]:
        return [
            Intent(
                i.name,
                {"options": dict(options), "eviction_policy": i.eviction_policy or "Deallocate"},
            )
            for i in instances
        ]

    def inject(self, ops: VmOps, entry: JournalEntry) -> Effect:
        vm = entry.vm or ""
        ops.simulate_eviction(vm)
        state = ops.wait_power_state(vm, ["deallocated", None], f"{vm} to be evicted")
        return Effect(f"{vm} evicted ({state or 'deleted'})")

    def revert(self, ops: VmOps, entry: JournalEntry) -> str:
        """Start the VM if its eviction took it down. A VM found running is either never
        evicted or already started again: the journal's "landed" record tells which, and
        without it the only wait is for an eviction that may have been sent just before the
        run died — bounded by the Preempt notice on this fleet's clock, from the journal time."""
        vm = entry.vm or ""
        policy = entry.revert.get("eviction_policy", "Deallocate")
        state = ops.power_state(vm)
        if state == "running" and entry.landed_at is not None:
            return NothingToRevert(
                f"{vm} is running again: its eviction landed and was already reverted; "
                "nothing to do"
            )
        if state == "running":
            window_s = EVICTION_WINDOW_PLATFORM_S * entry.fleet().time_scale
            pending_s = min(ops.timeout_s, entry.time + window_s - time.time())
            if pending_s <= 0:
                return NothingToRevert(
                    f"{vm} is running and its eviction never landed (the Preempt notice "
                    "has passed since it was journaled): it was never sent; nothing to revert"
                )
            try:
                state = ops.wait_power_state(
                    vm, EVICTED_OR_GOING, f"{vm}'s eviction", timeout_s=pending_s
                )
            except OperationTimeout:
                return NothingToRevert(
                    f"{vm} is still running after the Preempt notice "
                    f"({EVICTION_WINDOW_PLATFORM_S:.0f} s platform from the journal entry): "
                    "its eviction was never sent; nothing to revert"
                )
        if state is None:
            if policy == "Delete":
                return NothingToRevert(
                    f"{vm} was deleted by its eviction (policy Delete); nothing to restore"
                )
            return GONE
        return start_unless_running(ops, vm)


# A requested eviction takes the VM down after its Preempt notice: at least 30 s, delivered
# "up to 30 seconds prior" (docs/azure-behaviour.md §2.5); twice that bounds the wait for one
# that may have been sent, in platform seconds (the emulator's clock scales it).
EVICTION_WINDOW_PLATFORM_S = 60.0
EVICTED_OR_GOING = ["stopping", "deallocating", "stopped", "deallocated", None]


FAULTS = (Evict(),)
