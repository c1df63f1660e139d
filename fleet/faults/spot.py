"""Spot eviction: `simulateEviction` on a Spot VM, which goes after its Preempt notice.

Refused by the guard (before any call) on a Regular VM. The revert starts the VM again when its
eviction policy is Deallocate; with policy Delete the VM is gone and there is nothing to restore.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from fleet.faults.base import GONE, Effect, Fault, Intent
from fleet.faults.power import start_unless_running
from fleet.inventory import Instance
from fleet.journal import JournalEntry
from fleet.operations import VmOps
from flexchaos.errors import FlexchaosError


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
        vm = entry.vm or ""
        policy = entry.revert.get("eviction_policy", "Deallocate")
        state = ops.power_state(vm)
        # An eviction lands within the Preempt notice plus the deallocation: wait no longer
        # than that for one that was requested (or may never have been, if we were killed).
        pending_s = entry.time + min(ops.timeout_s, ops.eviction_window_s) - time.time()
        if state == "running" and pending_s > 0:
            try:
                state = ops.wait_power_state(
                    vm, ["deallocated", None], f"{vm}'s eviction", timeout_s=pending_s
                )
            except FlexchaosError:
                return f"{vm} is running and was not evicted; nothing to revert"
        if state is None:
            if policy == "Delete":
                return f"{vm} was deleted by its eviction (policy Delete); nothing to restore"
            return GONE
        return start_unless_running(ops, vm)


FAULTS = (Evict(),)
