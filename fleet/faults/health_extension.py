"""Break the Application Health extension: point its probe at a path (or port) that fails.

The VM keeps running and serving; its health state turns Unhealthy, which is what automatic
repairs act on after their grace period. The original settings go into the journal, and the
revert writes them back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from fleet.faults.base import (
    GONE,
    Effect,
    Fault,
    Injection,
    Intent,
    NothingToRevert,
    Proof,
    Seen,
)
from fleet.inventory import Instance
from fleet.journal import JournalEntry
from fleet.operations import VmOps
from flexchaos.errors import BadInput, NotFound

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


class BreakHealthExtension(Fault):
    name = "break-extension"
    summary = "point the Application Health extension at a failing path; revert restores it"
    options: ClassVar[Mapping[str, Any]] = {"path": BROKEN_HEALTH_PATH}
    actions: ClassVar[Mapping[str, str]] = {
        "Microsoft.Compute/virtualMachines/extensions/write": (
            "point the health extension at a failing path, and restore it (the revert)"
        ),
    }

    def inject_calls(self, rg: str, vm: str, options: Mapping[str, Any]) -> list[str]:
        return [
            f"virtual_machine_extensions.list({rg}, {vm}) (keep the original settings)",
            f"virtual_machine_extensions.begin_create_or_update({rg}, {vm}, <health extension>, "
            f"settings.requestPath={options.get('path')})",
        ]

    def revert_calls(self, rg: str, vm: str, options: Mapping[str, Any]) -> list[str]:
        return [
            f"virtual_machine_extensions.begin_create_or_update({rg}, {vm}, <health extension>, "
            "<original settings from the journal>)"
        ]

    def prepare(
        self, ops: VmOps, instances: Sequence[Instance], options: Mapping[str, Any], hold_s: float
    ) -> list[Intent]:
        return [self._intent(ops, i.name, options) for i in instances]

    def _intent(self, ops: VmOps, vm: str, options: Mapping[str, Any]) -> Intent:
        ext = ops.health_extension(vm)
        if ext is None:
            raise BadInput(
                f"VM {vm} has no Application Health extension to break; choose VMs that have one"
            )
        props = ext.get("properties") or {}
        return Intent(
            vm,
            {
                "options": dict(options),
                "extension": ext["name"].rsplit("/", 1)[-1],
                "location": ext.get("location") or "",
                "original": {k: props[k] for k in WRITABLE_EXTENSION_KEYS if k in props},
            },
        )

    @staticmethod
    def broken_settings(settings: Mapping[str, Any], path: str) -> dict[str, Any]:
        """HTTP(S): probe a path the app does not serve; TCP: a port nothing listens on."""
        broken = dict(settings)
        if str(settings.get("protocol", "http")).lower() == "tcp":
            broken["port"] = BROKEN_HEALTH_PORT
        else:
            broken["requestPath"] = path
        return broken

    def inject(self, ops: VmOps, entry: JournalEntry) -> Effect:
        vm, revert = entry.vm or "", entry.revert
        original = revert["original"]
        settings = self.broken_settings(original.get("settings") or {}, revert["options"]["path"])
        ops.put_extension(
            vm, revert["extension"], revert["location"], {**original, "settings": settings}
        )
        return Effect(f"{vm} health extension {revert['extension']} now probes a failing endpoint")

    def revert(self, ops: VmOps, entry: JournalEntry) -> str:
        vm = entry.vm or ""
        name = entry.revert["extension"]
        original = entry.revert["original"]
        try:
            current = ops.extension(vm, name)
        except NotFound:
            if ops.power_state(vm) is None:
                return GONE
            current = {}
        if (current.get("properties") or {}).get("settings") == original.get("settings"):
            return NothingToRevert(
                f"{vm} health extension {name} already has its original settings"
            )
        ops.put_extension(vm, name, entry.revert["location"], original)
        return f"{vm} health extension {name} settings restored"

    def prove(self, injection: Injection, seen: Sequence[Seen]) -> Proof:
        """Landed when each VM's health was seen unhealthy (or the VM was replaced for it)."""
        turned: dict[str, str] = {}
        for s in seen:
            if s.time < injection.requested_at or s.vm not in injection.vms or s.vm in turned:
                continue
            if s.health_state == "unhealthy":
                turned[s.vm] = "seen unhealthy"
            elif s.power_state == "deleted":
                turned[s.vm] = "replaced (deleted by a repair)"
        missing = [vm for vm in injection.vms if vm not in turned]
        if missing:
            return Proof(
                False, f"{', '.join(missing)} never seen unhealthy in the capacity samples"
            )
        return Proof(True, "; ".join(f"{vm} {how}" for vm, how in turned.items()))


FAULTS = (BreakHealthExtension(),)
