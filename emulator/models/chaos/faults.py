"""The fault library: what each fault the emulator runs does to its target VMs, always
through the world's power-state machine (so `power_state` truth events record it).

- VM shutdown (continuous, docs/azure-behaviour.md §5.1): power every target VM off
  (skipShutdown = abruptShutdown), hold for the duration, start them again.
- VM redeploy (discrete, no parameters): redeploy every target VM (running → deallocating →
  starting → running, the topology's `redeploy` time); a target VM that is not running, or no
  longer exists, fails its target. Nothing to undo: the VM comes back by itself.
- Time delay: wait for the duration.

A refused or failed VM operation fails that target (its `error`); any failed target then fails
the action, and the execution with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from emulator.models.chaos.executions import FAILED, ActionRun, Execution, TargetRun
from emulator.models.chaos.experiments import Experiment, parse_duration
from emulator.models.chaos.targets import DELAY_URN, VM_REDEPLOY_URN, VM_SHUTDOWN_URN
from emulator.models.errors import ActionFailed, ArmError, OperationNotAllowed, ResourceNotFound
from emulator.models.operations import Operation
from emulator.models.vm import RESOURCE_TYPE as VIRTUAL_MACHINES

if TYPE_CHECKING:
    from emulator.models.world import World


@dataclass
class RunContext:
    """One execution in progress, and the VMs it has powered off (to restore on cancel)."""

    world: World
    experiment: Experiment
    execution: Execution
    stopped: set[str] = field(default_factory=set)


@dataclass
class Resolved:
    """One action ready to run: its wire body, its status record and its target VMs."""

    body: dict[str, Any]
    run: ActionRun
    vms: list[tuple[TargetRun, str]] = field(default_factory=list)

    @property
    def urn(self) -> str:
        return str(self.body.get("name", ""))

    @property
    def duration(self) -> float:
        text = self.body.get("duration")
        return parse_duration(str(text)) if text else 0.0

    def parameter(self, key: str) -> str:
        for pair in self.body.get("parameters") or []:
            if isinstance(pair, dict) and str(pair.get("key", "")).lower() == key.lower():
                return str(pair.get("value", ""))
        return ""


async def delay(ctx: RunContext, action: Resolved) -> None:
    await ctx.world.clock.sleep(action.duration)


async def vm_shutdown(ctx: RunContext, action: Resolved) -> None:
    abrupt = action.parameter("abruptShutdown").lower() == "true"
    world = ctx.world

    async def power_off(target: TargetRun, vm: str) -> None:
        await operate(ctx, target, vm, lambda: world.begin_power_off(vm, skip_shutdown=abrupt))

    async def start(target: TargetRun, vm: str) -> None:
        started = await operate(ctx, target, vm, lambda: world.begin_start(vm))
        ctx.stopped.discard(vm)
        if started:
            target.complete(world.clock.now())

    await asyncio.gather(*(power_off(t, vm) for t, vm in action.vms))
    raise_if_failed(action)
    await world.clock.sleep(action.duration)
    await asyncio.gather(*(start(t, vm) for t, vm in action.vms))
    raise_if_failed(action)


async def vm_redeploy(ctx: RunContext, action: Resolved) -> None:
    world = ctx.world

    def begin(vm_name: str) -> Operation:
        vm = world.vm(vm_name)
        if vm is None:
            group = world.scale_set.resource_group
            raise ResourceNotFound.in_group(VIRTUAL_MACHINES, vm_name, group)
        if vm.power_state != "running":
            raise OperationNotAllowed(
                f"Operation 'redeploy' is not allowed on VM '{vm.name}' since the VM is "
                f"{vm.power_state}; the redeploy fault acts on running VMs."
            )
        return world.begin_redeploy(vm.name)

    async def redeploy(target: TargetRun, vm: str) -> None:
        if await operate(ctx, target, vm, lambda: begin(vm)):
            target.complete(world.clock.now())

    await asyncio.gather(*(redeploy(t, vm) for t, vm in action.vms))
    raise_if_failed(action)


Fault = Callable[[RunContext, Resolved], Awaitable[None]]
# lower-case URN → what it does; the URNs the emulator runs
FAULTS: dict[str, Fault] = {
    DELAY_URN.lower(): delay,
    VM_SHUTDOWN_URN.lower(): vm_shutdown,
    VM_REDEPLOY_URN.lower(): vm_redeploy,
}


async def operate(
    ctx: RunContext, target: TargetRun, vm: str, begin: Callable[[], Operation]
) -> bool:
    """Run one VM operation once the VM is idle; a refusal or failure fails the target.
    True when the operation succeeded."""
    try:
        await when_idle(ctx.world, vm)
        op = begin()
        if op.name == "powerOff":
            ctx.stopped.add(vm)
        await op.result()
    except ArmError as exc:
        target.fail(exc, ctx.world.clock.now())
        return False
    return True


async def when_idle(world: World, vm: str) -> None:
    """Wait out an operation in progress on the VM (bounded: operations end by themselves)."""
    found = world.vm(vm)
    while found is not None and found.busy and found.operation is not None:
        await found.operation.done.wait()
        found = world.vm(vm)


def raise_if_failed(action: Resolved) -> None:
    failed = [t for t, _ in action.vms if t.status == FAILED]
    if failed:
        first = failed[0]
        error = first.error
        raise ActionFailed(
            f"{action.run.name} failed on {len(failed)} target(s); first: {first.target}: "
            f"{error.code if error else ''}: {error.message if error else ''}"
        )
