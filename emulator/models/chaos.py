"""Chaos Studio as plain objects: targets and capabilities on resources, experiments, executions.

A target is an extension resource on a VM or scale set (`{parentId}/providers/Microsoft.Chaos/
targets/Microsoft-VirtualMachine`) and a capability (`…/capabilities/Shutdown-1.0`) enables one
fault on it (azure-semantics.md §5.2). An experiment holds selectors and steps as sent (wire
JSON); each start makes an execution whose statuses the executor (emulator/chaos_executor.py)
moves along. No HTTP here; emulator/responses/chaos.py renders these objects.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from emulator.models.errors import ArmError
from emulator.models.operations import Operation

VM_TARGET = "Microsoft-VirtualMachine"
VMSS_TARGET = "Microsoft-VirtualMachineScaleSet"
VM_SHUTDOWN_URN = "urn:csci:microsoft:virtualMachine:shutdown/1.0"
VM_REDEPLOY_URN = "urn:csci:microsoft:virtualMachine:redeploy/1.0"
VMSS_SHUTDOWN_PREFIX = "urn:csci:microsoft:virtualMachineScaleSet:shutdown/"
DELAY_URN = "urn:csci:microsoft:chaosStudio:timedDelay/1.0"

# Execution statuses (compare case-insensitively: Azure's own examples spell terminal values in
# lower case, the portal capitalises them). These are the spellings the emulator answers.
PRE_PROCESSING_QUEUED = "PreProcessingQueued"
WAITING_TO_START = "WaitingToStart"
RUNNING = "Running"
CANCELLING = "Cancelling"
SUCCESS = "Success"
FAILED = "Failed"
CANCELLED = "Cancelled"
TERMINAL = (SUCCESS, FAILED, CANCELLED)
# Step, branch, action and target statuses in runInformation.
PENDING = "Pending"
SUCCEEDED = "Succeeded"

MAX_STEPS = 4
MAX_BRANCHES = 9
MAX_ACTIONS = 9
MAX_TARGETS_PER_ACTION = 50
MAX_DURATION_S = 12 * 3600

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


@dataclass(frozen=True)
class CapabilitySpec:
    """One fault a target type offers: what the capability resource reports."""

    target_type: str  # "VirtualMachine" as Azure reports it in properties.targetType
    urn: str
    description: str
    parameters_schema: str


# target name → parent resource type → capabilities it supports
TARGET_TYPES: dict[str, tuple[str, dict[str, CapabilitySpec]]] = {
    VM_TARGET: (
        "virtualMachines",
        {
            "Shutdown-1.0": CapabilitySpec(
                "VirtualMachine",
                VM_SHUTDOWN_URN,
                "Shut down a VM for the duration of the fault; restart it at the end or on cancel.",
                "https://schema.centralus.chaos-prod.azure.com/targets/Microsoft-VirtualMachine/"
                "capabilities/Shutdown-1.0.json",
            ),
            "Redeploy-1.0": CapabilitySpec(
                "VirtualMachine",
                VM_REDEPLOY_URN,
                "Redeploy a VM to a new host.",
                "https://schema.centralus.chaos-prod.azure.com/targets/Microsoft-VirtualMachine/"
                "capabilities/Redeploy-1.0.json",
            ),
        },
    ),
    VMSS_TARGET: (
        "virtualMachineScaleSets",
        {
            f"Shutdown-{v}": CapabilitySpec(
                "VirtualMachineScaleSet",
                f"{VMSS_SHUTDOWN_PREFIX}{v}",
                "Shut down instances of a Uniform scale set for the duration of the fault.",
                "https://schema.centralus.chaos-prod.azure.com/targets/"
                f"Microsoft-VirtualMachineScaleSet/capabilities/Shutdown-{v}.json",
            )
            for v in ("1.0", "2.0")
        },
    ),
}


def parse_duration(text: str) -> float:
    """ISO 8601 duration (PT10M, PT1H30M, P0DT0H0M30S) → seconds; ValueError when malformed."""
    match = _DURATION.match(str(text).strip())
    if match is None or text.strip() in ("P", "PT"):
        raise ValueError(f"'{text}' is not an ISO 8601 duration such as PT10M")
    d, h, m, s = (match.group(k) for k in ("d", "h", "m", "s"))
    return int(d or 0) * 86400 + int(h or 0) * 3600 + int(m or 0) * 60 + float(s or 0)


@dataclass
class ChaosTarget:
    """Microsoft.Chaos/targets on one parent resource, with its enabled capabilities."""

    parent_id: str  # canonical id of the VM or scale set
    name: str  # "Microsoft-VirtualMachine" | "Microsoft-VirtualMachineScaleSet"
    location: str
    properties: dict[str, Any] = field(default_factory=dict)
    capabilities: dict[str, str] = field(default_factory=dict)  # name → canonical name

    @property
    def id(self) -> str:
        return f"{self.parent_id}/providers/Microsoft.Chaos/targets/{self.name}"

    def capability_spec(self, name: str) -> CapabilitySpec | None:
        specs = TARGET_TYPES[self.name][1]
        return next((s for n, s in specs.items() if n.lower() == name.lower()), None)

    def enabled_urns(self) -> set[str]:
        return {s.urn.lower() for c in self.capabilities.values() if (s := self.capability_spec(c))}


@dataclass
class TargetRun:
    """One target of one action in an execution."""

    target: str  # the target resource id from the selector
    status: str = PENDING
    completed_time: float | None = None
    failed_time: float | None = None
    error_code: str | None = None
    error_message: str | None = None


@dataclass
class ActionRun:
    name: str  # the fault URN
    id: str
    status: str = PENDING
    start_time: float | None = None
    end_time: float | None = None
    targets: list[TargetRun] = field(default_factory=list)


@dataclass
class BranchRun:
    name: str
    id: str
    status: str = PENDING
    actions: list[ActionRun] = field(default_factory=list)


@dataclass
class StepRun:
    name: str
    id: str
    status: str = PENDING
    branches: list[BranchRun] = field(default_factory=list)


@dataclass
class Execution:
    """One run of an experiment; the executor moves `status` and fills runInformation."""

    experiment: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = PRE_PROCESSING_QUEUED
    started_at: float = field(default_factory=time.time)
    stopped_at: float | None = None
    last_action_at: float | None = None
    failure_reason: str | None = None
    steps: list[StepRun] = field(default_factory=list)
    cancel_requested: asyncio.Event = field(default_factory=asyncio.Event)
    start_operation: Operation | None = None
    cancel_operation: Operation | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL


@dataclass
class Experiment:
    """Microsoft.Chaos/experiments: the body as sent, plus what the service adds."""

    name: str
    id: str
    location: str
    selectors: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    identity: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    provisioning_state: str = "Creating"
    created_at: float = field(default_factory=time.time)
    modified_at: float = field(default_factory=time.time)
    executions: list[Execution] = field(default_factory=list)

    def running(self) -> Execution | None:
        return next((e for e in reversed(self.executions) if not e.finished), None)

    def execution(self, execution_id: str) -> Execution | None:
        lowered = execution_id.lower()
        return next((e for e in self.executions if e.id.lower() == lowered), None)


class ChaosState:
    """Every target, experiment and Chaos long-running operation; owns the executor tasks."""

    def __init__(self) -> None:
        self.targets: dict[tuple[str, str], ChaosTarget] = {}
        self.experiments: dict[str, Experiment] = {}
        self.operations: dict[str, Operation] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # ----- targets --------------------------------------------------------------------------
    def target(self, parent_id: str, name: str) -> ChaosTarget | None:
        return self.targets.get((parent_id.lower(), name.lower()))

    def targets_of(self, parent_id: str) -> list[ChaosTarget]:
        return [t for (p, _), t in self.targets.items() if p == parent_id.lower()]

    def put_target(self, target: ChaosTarget) -> bool:
        """Create or update; True when new. Capabilities survive an update."""
        key = (target.parent_id.lower(), target.name.lower())
        current = self.targets.get(key)
        if current is not None:
            current.properties = target.properties
            return False
        self.targets[key] = target
        return True

    def delete_target(self, parent_id: str, name: str) -> bool:
        return self.targets.pop((parent_id.lower(), name.lower()), None) is not None

    def target_by_id(self, target_id: str) -> ChaosTarget | None:
        """Resolve `{parentId}/providers/Microsoft.Chaos/targets/{name}` (case-insensitive)."""
        parent, sep, name = target_id.rpartition("/providers/Microsoft.Chaos/targets/")
        if not sep:
            lowered = target_id.lower()
            marker = "/providers/microsoft.chaos/targets/"
            index = lowered.rfind(marker)
            if index < 0:
                return None
            parent, name = target_id[:index], target_id[index + len(marker) :]
        return self.target(parent, name.strip("/"))

    # ----- experiments ----------------------------------------------------------------------
    def experiment(self, name: str) -> Experiment | None:
        return self.experiments.get(name.lower())

    def get_experiment(self, resource_group: str, name: str) -> Experiment:
        found = self.experiment(name)
        if found is None:
            raise ArmError(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Chaos/experiments/{name}' under resource group "
                f"'{resource_group}' was not found. For more details please go to "
                "https://aka.ms/ARMResourceNotFoundFix",
            )
        return found

    # ----- operations and tasks -------------------------------------------------------------
    def new_operation(self, name: str, resource_id: str, wall_duration: float) -> Operation:
        op = Operation(name, resource_id, None, wall_duration)
        self.operations[op.id] = op
        return op

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
