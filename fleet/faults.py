"""The faults: for each, the SDK calls that inject it and the calls that revert it.

A fault works on one VM at a time (Flexible sets have no batch operations). `prepare` reads
what the revert will need (e.g. the extension's original settings) before anything changes;
that data goes into the journal; `inject` makes the calls and waits for completion;
`revert` is idempotent — it looks at the VM first and does only what is still needed, so a
second rollback does nothing, and a VM replaced or deleted meanwhile is reported, not retried.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar

from azure.core.exceptions import ResourceNotFoundError

from fleet.inventory import Instance
from fleet.journal import JournalEntry
from fleet.operations import VmGone, VmOps
from fleet.reverts import register_revert
from fleet.selection import Selection
from flexchaos.errors import FlexchaosError

BROKEN_HEALTH_PATH = "/flexchaos-broken-health"
BROKEN_HEALTH_PORT = 1
WRITABLE_EXTENSION_KEYS = (
    "publisher",
    "type",
    "typeHandlerVersion",
    "autoUpgradeMinorVersion",
    "enableAutomaticUpgrade",
    "suppressFailures",
    "settings",
)
GONE = "VM no longer exists (deleted or replaced meanwhile); nothing to revert"


class Fault:
    """Base: name, options it accepts, and the inject/revert pair."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    revertible: ClassVar[bool] = True
    spot_only: ClassVar[bool] = False
    options: ClassVar[dict[str, Any]] = {}  # option → default

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            allowed = ", ".join(sorted(self.options)) or "none"
            raise FlexchaosError(
                f"fault {self.name} has no option {', '.join(unknown)} (options: {allowed})"
            )
        return {**self.options, **options}

    def selection(self, options: dict[str, Any], selection: Selection) -> Selection:
        """The VMs this fault acts on (zone-down overrides the user's selection)."""
        return selection

    def inject_calls(self, rg: str, vm: str, options: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def revert_calls(self, rg: str, vm: str, options: dict[str, Any]) -> list[str]:
        return [] if not self.revertible else ["(see revert)"]

    def prepare(self, ops: VmOps, instance: Instance, options: dict[str, Any]) -> dict[str, Any]:
        """Read-only: what the revert will need, recorded in the journal before the inject."""
        return {"options": options}

    def inject(self, ops: VmOps, vm: str, revert: dict[str, Any]) -> str:
        raise NotImplementedError

    def revert(self, ops: VmOps, entry: JournalEntry) -> str:
        return f"{self.name} has no revert; nothing to do"


class Stop(Fault):
    name = "stop"
    summary = "power off (stays allocated); revert starts it"
    options: ClassVar[dict[str, Any]] = {"skip_shutdown": False}
    target_state = "stopped"

    def inject_calls(self, rg: str, vm: str, options: dict[str, Any]) -> list[str]:
        skip = bool(options.get("skip_shutdown"))
        return [f"virtual_machines.begin_power_off({rg}, {vm}, skip_shutdown={skip})"]

    def revert_calls(self, rg: str, vm: str, options: dict[str, Any]) -> list[str]:
        return [f"virtual_machines.begin_start({rg}, {vm})"]

    def inject(self, ops: VmOps, vm: str, revert: dict[str, Any]) -> str:
        skip = bool(revert["options"].get("skip_shutdown"))
        ops.power_off(vm, skip_shutdown=skip)
        ops.wait_power_state(vm, [self.target_state], f"{vm} to be {self.target_state}")
        return f"{vm} {self.target_state}"

    def revert(self, ops: VmOps, entry: JournalEntry) -> str:
        return start_unless_running(ops, entry.vm or "")


class Deallocate(Stop):
    name = "deallocate"
    summary = "deallocate (host released); revert starts it"
    options: ClassVar[dict[str, Any]] = {}
    target_state = "deallocated"

    def inject_calls(self, rg: str, vm: str, options: dict[str, Any]) -> list[str]:
        return [f"virtual_machines.begin_deallocate({rg}, {vm})"]

    def inject(self, ops: VmOps, vm: str, revert: dict[str, Any]) -> str:
        ops.deallocate(vm)
        ops.wait_power_state(vm, ["deallocated"], f"{vm} to be deallocated")
        return f"{vm} deallocated"


class ZoneDown(Stop):
    name = "zone-down"
    summary = "power off every VM of one zone; revert starts them"
    options: ClassVar[dict[str, Any]] = {"zone": None, "skip_shutdown": False}

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        merged = super().check_options(options)
        if merged["zone"] is None:
            raise FlexchaosError("fault zone-down needs a zone (e.g. --zone 2)")
        merged["zone"] = str(merged["zone"])
        return merged

    def selection(self, options: dict[str, Any], selection: Selection) -> Selection:
        return Selection(zone=options["zone"], seed=selection.seed)


class Evict(Fault):
    name = "evict"
    summary = "Spot eviction (simulateEviction); revert starts it if the policy is Deallocate"
    spot_only = True

    def inject_calls(self, rg: str, vm: str, options: dict[str, Any]) -> list[str]:
        return [
            f"virtual_machines.simulate_eviction({rg}, {vm})",
            "wait until deallocated (policy Deallocate) or deleted (policy Delete)",
        ]

    def revert_calls(self, rg: str, vm: str, options: dict[str, Any]) -> list[str]:
        return [f"virtual_machines.begin_start({rg}, {vm}) if its eviction policy is Deallocate"]

    def prepare(self, ops: VmOps, instance: Instance, options: dict[str, Any]) -> dict[str, Any]:
        return {"options": options, "eviction_policy": instance.eviction_policy or "Deallocate"}

    def inject(self, ops: VmOps, vm: str, revert: dict[str, Any]) -> str:
        ops.simulate_eviction(vm)
        state = ops.wait_power_state(vm, ["deallocated", None], f"{vm} to be evicted")
        return f"{vm} evicted ({state or 'deleted'})"

    def revert(self, ops: VmOps, entry: JournalEntry) -> str:
        vm = entry.vm or ""
        policy = entry.revert.get("eviction_policy", "Deallocate")
        state = ops.power_state(vm)
        # An eviction lands within the Preempt notice plus the deallocation: wait no longer
        # than that for one that was requested (or may never have been, if we were killed).
        pending_s = entry.time + min(ops.timeout_s, ops.eviction_window_s) - time.time()
        if state == "running" and pending_s > 0:
            # killed between simulateEviction and the eviction: let the eviction land first
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


class BreakHealthExtension(Fault):
    name = "break-extension"
    summary = "point the Application Health extension at a failing path; revert restores it"
    options: ClassVar[dict[str, Any]] = {"path": BROKEN_HEALTH_PATH}

    def inject_calls(self, rg: str, vm: str, options: dict[str, Any]) -> list[str]:
        return [
            f"virtual_machine_extensions.list({rg}, {vm}) (keep the original settings)",
            f"virtual_machine_extensions.begin_create_or_update({rg}, {vm}, <health extension>, "
            f"settings.requestPath={options.get('path')})",
        ]

    def revert_calls(self, rg: str, vm: str, options: dict[str, Any]) -> list[str]:
        return [
            f"virtual_machine_extensions.begin_create_or_update({rg}, {vm}, <health extension>, "
            "<original settings from the journal>)"
        ]

    def prepare(self, ops: VmOps, instance: Instance, options: dict[str, Any]) -> dict[str, Any]:
        ext = ops.health_extension(instance.name)
        if ext is None:
            raise FlexchaosError(
                f"VM {instance.name} has no Application Health extension to break; "
                "choose VMs that have one"
            )
        props = ext.get("properties") or {}
        original = {k: props[k] for k in WRITABLE_EXTENSION_KEYS if k in props}
        return {
            "options": options,
            "extension": ext["name"].rsplit("/", 1)[-1],
            "location": ext.get("location") or "",
            "original": original,
        }

    @staticmethod
    def broken_settings(settings: dict[str, Any], path: str) -> dict[str, Any]:
        """HTTP(S): probe a path the app does not serve; TCP: a port nothing listens on."""
        broken = dict(settings)
        if str(settings.get("protocol", "http")).lower() == "tcp":
            broken["port"] = BROKEN_HEALTH_PORT
        else:
            broken["requestPath"] = path
        return broken

    def inject(self, ops: VmOps, vm: str, revert: dict[str, Any]) -> str:
        original = revert["original"]
        broken = {
            **original,
            "settings": self.broken_settings(
                original.get("settings") or {}, revert["options"]["path"]
            ),
        }
        ops.put_extension(vm, revert["extension"], revert["location"], broken)
        return f"{vm} health extension {revert['extension']} now probes a failing endpoint"

    def revert(self, ops: VmOps, entry: JournalEntry) -> str:
        vm = entry.vm or ""
        name = entry.revert["extension"]
        original = entry.revert["original"]
        try:
            current = ops.exts.get(ops.rg, vm, name).as_dict()
        except ResourceNotFoundError:
            if ops.power_state(vm) is None:
                return GONE
            current = {}
        if (current.get("properties") or {}).get("settings") == original.get("settings"):
            return f"{vm} health extension {name} already has its original settings"
        ops.put_extension(vm, name, entry.revert["location"], original)
        return f"{vm} health extension {name} settings restored"


class Restart(Fault):
    name = "restart"
    summary = "restart the VM (no revert: it comes back by itself)"
    revertible = False

    def inject_calls(self, rg: str, vm: str, options: dict[str, Any]) -> list[str]:
        return [f"virtual_machines.begin_restart({rg}, {vm})"]

    def inject(self, ops: VmOps, vm: str, revert: dict[str, Any]) -> str:
        ops.restart(vm)
        return f"{vm} restarted"


class Redeploy(Restart):
    name = "redeploy"
    summary = "redeploy the VM to a new host (no revert: it comes back by itself)"

    def inject_calls(self, rg: str, vm: str, options: dict[str, Any]) -> list[str]:
        return [f"virtual_machines.begin_redeploy({rg}, {vm})"]

    def inject(self, ops: VmOps, vm: str, revert: dict[str, Any]) -> str:
        ops.redeploy(vm)
        return f"{vm} redeployed"


def start_unless_running(ops: VmOps, vm: str) -> str:
    """The revert of every power fault: wait out any transition, then start if needed."""
    state = ops.wait_stable(vm)
    if state is None:
        return GONE
    if state == "running":
        return f"{vm} already running; nothing to do"
    ops.start(vm)
    ops.wait_power_state(vm, ["running"], f"{vm} to run")
    return f"{vm} started (was {state})"


FAULTS: dict[str, Fault] = {
    f.name: f
    for f in (
        Stop(),
        Deallocate(),
        Evict(),
        BreakHealthExtension(),
        ZoneDown(),
        Restart(),
        Redeploy(),
    )
}


def fault(name: str) -> Fault:
    try:
        return FAULTS[name]
    except KeyError:
        raise FlexchaosError(f"unknown fault {name!r}; choose one of {', '.join(FAULTS)}") from None


def _revert_with(f: Fault) -> Any:
    def revert(entry: JournalEntry, timeout_s: float | None) -> str:
        try:
            return f.revert(VmOps(entry.fleet(), timeout_s), entry)
        except VmGone:  # deleted while we reverted (a Replace repair): nothing left to revert
            return GONE

    return revert


for _fault in FAULTS.values():
    register_revert(_fault.name, _revert_with(_fault))
