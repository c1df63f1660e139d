"""Chaos Studio targets and capabilities: which faults the emulator offers, on which resources.

A target is an extension resource on a VM or scale set (`{parentId}/providers/Microsoft.Chaos/
targets/Microsoft-VirtualMachine`); a capability (`…/capabilities/Shutdown-1.0`) enables one
fault on it (docs/azure-behaviour.md §5.1, §5.2). Each fault has a fixed action type in
Chaos Studio's fault library: the VM shutdown is continuous (it lasts a duration), the VM
redeploy is discrete (it happens once), the time delay is a delay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

VM_TARGET = "Microsoft-VirtualMachine"
VMSS_TARGET = "Microsoft-VirtualMachineScaleSet"
VM_SHUTDOWN_URN = "urn:csci:microsoft:virtualMachine:shutdown/1.0"
VM_REDEPLOY_URN = "urn:csci:microsoft:virtualMachine:redeploy/1.0"
VMSS_SHUTDOWN_PREFIX = "urn:csci:microsoft:virtualMachineScaleSet:shutdown/"
DELAY_URN = "urn:csci:microsoft:chaosStudio:timedDelay/1.0"

CONTINUOUS, DISCRETE, DELAY = "continuous", "discrete", "delay"
ACTION_TYPES = (CONTINUOUS, DISCRETE, DELAY)
SCHEMAS = "https://schema.centralus.chaos-prod.azure.com/targets"


@dataclass(frozen=True)
class CapabilitySpec:
    """One fault a target type offers: what the capability resource reports."""

    target_type: str  # "VirtualMachine" as Azure reports it in properties.targetType
    urn: str
    description: str
    parameters_schema: str
    action_type: str  # the experiment action's `type` this fault needs


def _vm_capability(name: str, urn: str, action_type: str, description: str) -> CapabilitySpec:
    schema = f"{SCHEMAS}/{VM_TARGET}/capabilities/{name}.json"
    return CapabilitySpec("VirtualMachine", urn, description, schema, action_type)


def _vmss_shutdown(version: str) -> CapabilitySpec:
    return CapabilitySpec(
        "VirtualMachineScaleSet",
        f"{VMSS_SHUTDOWN_PREFIX}{version}",
        "Shut down instances of a Uniform scale set for the duration of the fault.",
        f"{SCHEMAS}/{VMSS_TARGET}/capabilities/Shutdown-{version}.json",
        CONTINUOUS,
    )


# target name → (parent resource type, capabilities it supports)
TARGET_TYPES: dict[str, tuple[str, dict[str, CapabilitySpec]]] = {
    VM_TARGET: (
        "virtualMachines",
        {
            "Shutdown-1.0": _vm_capability(
                "Shutdown-1.0",
                VM_SHUTDOWN_URN,
                CONTINUOUS,
                "Shut down a VM for the duration of the fault; restart it at the end or on cancel.",
            ),
            "Redeploy-1.0": _vm_capability(
                "Redeploy-1.0",
                VM_REDEPLOY_URN,
                DISCRETE,
                "Redeploy a VM: shut it down, move it to a new host and power it on again.",
            ),
        },
    ),
    VMSS_TARGET: (
        "virtualMachineScaleSets",
        {f"Shutdown-{v}": _vmss_shutdown(v) for v in ("1.0", "2.0")},
    ),
}


def action_type_of(urn: str) -> str | None:
    """The action type a known fault URN needs (delay for the time delay); None if unknown."""
    if urn.lower() == DELAY_URN.lower():
        return DELAY
    for _, capabilities in TARGET_TYPES.values():
        for spec in capabilities.values():
            if spec.urn.lower() == urn.lower():
                return spec.action_type
    return None


def capability_name(urn: str) -> str:
    """urn:csci:microsoft:virtualMachine:shutdown/1.0 → Shutdown-1.0."""
    fault, _, version = urn.rsplit(":", 1)[-1].partition("/")
    return f"{fault[:1].upper()}{fault[1:]}-{version}"


@dataclass
class ChaosTarget:
    """Microsoft.Chaos/targets on one parent resource, with its enabled capabilities."""

    parent_id: str  # canonical id of the VM or scale set
    name: str  # "Microsoft-VirtualMachine" | "Microsoft-VirtualMachineScaleSet"
    location: str
    properties: dict[str, Any] = field(default_factory=dict)
    capabilities: dict[str, str] = field(default_factory=dict)  # lower name → canonical name

    @property
    def id(self) -> str:
        return f"{self.parent_id}/providers/Microsoft.Chaos/targets/{self.name}"

    def capability_spec(self, name: str) -> CapabilitySpec | None:
        specs = TARGET_TYPES[self.name][1]
        return next((s for n, s in specs.items() if n.lower() == name.lower()), None)

    def enabled_urns(self) -> set[str]:
        return {s.urn.lower() for c in self.capabilities.values() if (s := self.capability_spec(c))}
