"""Power faults on single VMs: stop, deallocate, zone down (inject and revert), restart and
redeploy (the VM comes back by itself; nothing to revert).

Flexible scale sets have no batch power operations, so each call names one VM. Every revert
looks at the VM first and does only what is still needed: a second rollback does nothing, and a
VM that was deleted meanwhile (a Replace repair) is reported, not retried.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

from fleet.faults.base import GONE, Effect, Fault, NothingToRevert, Underway
from fleet.journal import JournalEntry
from fleet.operations import VmOps
from fleet.selection import Selection
from flexchaos.errors import FlexchaosError

VM = "Microsoft.Compute/virtualMachines"


class Stop(Fault):
    name = "stop"
    summary = "power off (stays allocated); revert starts it"
    options: ClassVar[Mapping[str, Any]] = {"skip_shutdown": False}
    actions: ClassVar[Mapping[str, str]] = {
        f"{VM}/powerOff/action": "power the VM off (the fault)",
        f"{VM}/start/action": "start it again (the revert)",
    }

    def inject_calls(self, rg: str, vm: str, options: Mapping[str, Any]) -> list[str]:
        skip = bool(options.get("skip_shutdown"))
        return [f"virtual_machines.begin_power_off({rg}, {vm}, skip_shutdown={skip})"]

    def revert_calls(self, rg: str, vm: str, options: Mapping[str, Any]) -> list[str]:
        return [f"virtual_machines.begin_start({rg}, {vm})"]

    def inject(self, ops: VmOps, entry: JournalEntry) -> Effect:
        vm = entry.vm or ""
        skip = bool(entry.revert["options"].get("skip_shutdown"))
        ops.power_off(vm, skip_shutdown=skip, wait=False)
        return Effect(f"{vm} stopped", awaits=("stopped",))

    def revert(self, ops: VmOps, entry: JournalEntry) -> str:
        return start_unless_running(ops, entry.vm or "")


class Deallocate(Stop):
    name = "deallocate"
    summary = "deallocate (host released); revert starts it"
    options: ClassVar[Mapping[str, Any]] = {}
    actions: ClassVar[Mapping[str, str]] = {
        f"{VM}/deallocate/action": "deallocate the VM (the fault)",
        f"{VM}/start/action": "start it again (the revert)",
    }

    def inject_calls(self, rg: str, vm: str, options: Mapping[str, Any]) -> list[str]:
        return [f"virtual_machines.begin_deallocate({rg}, {vm})"]

    def inject(self, ops: VmOps, entry: JournalEntry) -> Effect:
        vm = entry.vm or ""
        ops.deallocate(vm, wait=False)
        return Effect(f"{vm} deallocated", awaits=("deallocated",))


class ZoneDown(Stop):
    name = "zone-down"
    summary = "power off every VM of one zone; revert starts them"
    options: ClassVar[Mapping[str, Any]] = {"zone": None, "skip_shutdown": False}

    def check_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        merged = super().check_options(options)
        if merged["zone"] is None:
            raise FlexchaosError("fault zone-down needs a zone (e.g. --zone 2)")
        merged["zone"] = str(merged["zone"])
        return merged

    def takes_out(self, options: Mapping[str, Any], selection: Selection) -> Selection:
        return Selection(zone=options["zone"], seed=selection.seed)


class Restart(Fault):
    name = "restart"
    summary = "restart the VM (no revert: it comes back by itself)"
    revertible = False
    actions: ClassVar[Mapping[str, str]] = {f"{VM}/restart/action": "restart the VM (the fault)"}

    def inject_calls(self, rg: str, vm: str, options: Mapping[str, Any]) -> list[str]:
        return [f"virtual_machines.begin_restart({rg}, {vm})"]

    def inject(self, ops: VmOps, entry: JournalEntry) -> Effect:
        ops.restart(entry.vm or "")
        return Effect(f"{entry.vm} restarted")

    def revert(self, ops: VmOps, entry: JournalEntry) -> str:
        """Nothing to undo: the platform brings the VM back by itself. If the run was killed
        mid-operation, wait (bounded) for the operation to end, so that rollback returns with
        the VM back, and say in which state it is."""
        vm = entry.vm or ""
        state = ops.wait_stable(vm)
        if state is None:
            return GONE
        how = "it ended" if entry.landed_at is not None else "it ended by itself, if it was sent"
        return NothingToRevert(f"{self.name} has no revert; {vm} is {state} ({how})")


class Redeploy(Restart):
    name = "redeploy"
    summary = "redeploy the VM to a new host (no revert: it comes back by itself)"
    actions: ClassVar[Mapping[str, str]] = {
        f"{VM}/redeploy/action": "redeploy the VM to a new host (the fault)"
    }

    def inject_calls(self, rg: str, vm: str, options: Mapping[str, Any]) -> list[str]:
        return [f"virtual_machines.begin_redeploy({rg}, {vm})"]

    def inject(self, ops: VmOps, entry: JournalEntry) -> Effect:
        ops.redeploy(entry.vm or "")
        return Effect(f"{entry.vm} redeployed")


def start_unless_running(ops: VmOps, vm: str) -> str:
    """The revert of every power fault: wait out any transition, then send a start if needed;
    returns once the start is accepted, as `Underway` until the VM runs (confirmed by the caller,
    together with the other reverts: fleet/operations.py)."""
    state = ops.wait_stable(vm)
    if state is None:
        return GONE
    if state == "running":
        return NothingToRevert(f"{vm} already running; nothing to do")
    ops.start(vm, wait=False)
    return Underway(f"{vm} started (was {state})", vm, ("running",))


def start_all_unless_running(ops: VmOps, vms: Sequence[str], parallel: int) -> list[str]:
    """`start_unless_running` on many VMs: every start sent (`parallel` at a time), then all
    confirmed running together. One outcome per VM, in order."""
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(vms)))) as pool:
        results = list(pool.map(lambda vm: start_unless_running(ops, vm), vms))
    underway = {r.vm: r.awaits for r in results if isinstance(r, Underway)}
    if underway:
        ops.require_power_states(underway, "running again")
    return results


FAULTS = (Stop(), Deallocate(), ZoneDown(), Restart(), Redeploy())
