"""A Flexible scale set's VM: an ordinary Microsoft.Compute/virtualMachines resource."""

from __future__ import annotations

from dataclasses import dataclass, field

from emulator.models.extension import Extension
from emulator.models.operations import Operation

POWER_STATES = ("starting", "running", "stopping", "stopped", "deallocating", "deallocated")
RESOURCE_TYPE = "Microsoft.Compute/virtualMachines"


@dataclass(eq=False)
class VirtualMachine:
    """State the control plane reports and the data plane reacts to (via truth events)."""

    name: str
    id: str
    address: str
    zone: str
    fault_domain: int
    priority: str  # "Regular" | "Spot"
    eviction_policy: str | None  # "Deallocate" | "Delete" for Spot, None for Regular
    vm_size: str
    vm_id: str
    time_created: float
    tags: dict[str, str] = field(default_factory=dict)
    power_state: str = "running"
    provisioning_state: str = "Succeeded"
    health_state: str | None = None  # "Healthy" | "Unhealthy" | "Initializing" | None
    extensions: dict[str, Extension] = field(default_factory=dict)
    operation: Operation | None = None  # the power/lifecycle operation in progress
    eviction_not_before: float | None = None  # wall epoch of a scheduled Preempt
    deleted: bool = False

    @property
    def busy(self) -> bool:
        return self.operation is not None and not self.operation.finished

    @property
    def computer_name(self) -> str:
        return self.name.replace("_", "")

    def health_extension(self) -> Extension | None:
        return next((e for e in self.extensions.values() if e.is_health_extension), None)
