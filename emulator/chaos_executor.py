"""Runs Chaos Studio executions against the world's VMs, as the service does.

An execution goes PreProcessingQueued → WaitingToStart → Running → Success | Failed |
Cancelled (Cancelling while a cancel brings the VMs back). Pre-processing validates what the
service validates: each List selector's targets exist, the action's capability is enabled on
each, and the scale-set shutdown fault is refused on a Flexible set (it is Uniform-only,
azure-semantics.md §0.1). Steps run in order, branches of a step in parallel, actions of a
branch in order. The VM shutdown fault powers its VMs off through the world's state machine
(skipShutdown = abruptShutdown), holds for the duration in platform seconds, then starts them;
a cancel or a failure starts every VM the execution stopped. Each status change is recorded as
a `chaos_execution` truth event; the VMs' `power_state` events come from the world.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator.models import ArmError, World
from emulator.models.chaos import (
    CANCELLED,
    CANCELLING,
    DELAY_URN,
    FAILED,
    MAX_TARGETS_PER_ACTION,
    PENDING,
    RUNNING,
    SUCCEEDED,
    SUCCESS,
    VM_REDEPLOY_URN,
    VM_SHUTDOWN_URN,
    VM_TARGET,
    VMSS_SHUTDOWN_PREFIX,
    WAITING_TO_START,
    ActionRun,
    BranchRun,
    ChaosTarget,
    Execution,
    Experiment,
    StepRun,
    TargetRun,
    parse_duration,
)
from emulator.models.operations import SUCCEEDED as OP_SUCCEEDED

# Platform seconds (scaled by the Clock): how long an execution stays queued and waiting, and
# how long an experiment create/update/delete takes. Azure publishes no figure; a few seconds.
QUEUED_S = 5.0
WAITING_S = 5.0
PROVISION_S = 5.0

SUPPORTED_URNS = (VM_SHUTDOWN_URN, VM_REDEPLOY_URN, DELAY_URN)


class ExecutionFailed(Exception):
    """The execution fails with this reason (failureReason in the execution details)."""


@dataclass
class Resolved:
    """One action ready to run: its wire body, its status record and its target VMs."""

    body: dict[str, Any]
    run: ActionRun
    vms: list[tuple[TargetRun, str]] = field(default_factory=list)


@dataclass
class RunContext:
    world: World
    experiment: Experiment
    execution: Execution
    stopped: set[str] = field(default_factory=set)  # VMs this execution powered off


# ----- entry points used by the routes --------------------------------------------------------


def start_execution(world: World, experiment: Experiment) -> Execution:
    """Accept a start: a new execution, queued; 409 if one is already running."""
    if experiment.provisioning_state != "Succeeded":
        raise ArmError(
            409,
            "Conflict",
            f"Experiment '{experiment.name}' is {experiment.provisioning_state}; "
            "start it once it is provisioned.",
        )
    if experiment.running() is not None:
        raise ArmError(
            409,
            "Conflict",
            f"Experiment '{experiment.name}' already has an execution in progress; "
            "cancel it or wait for it to end.",
        )
    execution = Execution(experiment.name)
    execution.steps = _skeleton(experiment)
    chaos = world.chaos
    execution.start_operation = chaos.new_operation(
        "start", experiment.id, world.clock.wall(QUEUED_S)
    )
    experiment.executions.append(execution)
    _record(world, experiment, execution)
    chaos.spawn(_run(RunContext(world, experiment, execution)))
    return execution


def request_cancel(world: World, experiment: Experiment) -> Any:
    """Ask the running execution to stop; the operation completes once it is Cancelled.

    With nothing running the cancel succeeds at once and changes nothing (a choice: Azure's
    answer is not documented)."""
    execution = experiment.running()
    if execution is not None and execution.cancel_operation is not None:
        return execution.cancel_operation
    op = world.chaos.new_operation("cancel", experiment.id, world.clock.wall(QUEUED_S))
    if execution is None:
        op.finish()
        return op
    execution.cancel_operation = op
    execution.cancel_requested.set()
    return op


# ----- the run --------------------------------------------------------------------------------


async def _run(ctx: RunContext) -> None:
    body = asyncio.ensure_future(_body(ctx))
    cancel = asyncio.ensure_future(ctx.execution.cancel_requested.wait())
    try:
        done, _ = await asyncio.wait({body, cancel}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:  # the emulator is stopping
        body.cancel()
        cancel.cancel()
        raise
    if body in done:
        cancel.cancel()
        error = body.exception()
        if error is None:
            _finish(ctx, SUCCESS)
            return
        reason = str(error) if isinstance(error, ExecutionFailed) else f"InternalError: {error}"
        _mark_open(ctx.execution, FAILED)
        await _restore(ctx)
        _finish(ctx, FAILED, reason)
        return
    _set_status(ctx, CANCELLING)
    body.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await body
    _mark_open(ctx.execution, CANCELLED)
    await _restore(ctx)
    _finish(ctx, CANCELLED)


async def _body(ctx: RunContext) -> None:
    clock = ctx.world.clock
    await clock.sleep(QUEUED_S)
    plan = _validate(ctx)
    _set_status(ctx, WAITING_TO_START)
    _finish_op(ctx.execution.start_operation)
    await clock.sleep(WAITING_S)
    _set_status(ctx, RUNNING)
    for step, branches in plan:
        step.status = RUNNING
        await asyncio.gather(*(_branch(ctx, branch, actions) for branch, actions in branches))
        step.status = SUCCEEDED


async def _branch(ctx: RunContext, branch: BranchRun, actions: list[Resolved]) -> None:
    branch.status = RUNNING
    for action in actions:
        await _action(ctx, action)
    branch.status = SUCCEEDED


async def _action(ctx: RunContext, action: Resolved) -> None:
    w, run = ctx.world, action.run
    run.status, run.start_time = RUNNING, w.clock.now()
    ctx.execution.last_action_at = run.start_time
    for target, _ in action.vms:
        target.status = RUNNING
    urn = str(action.body.get("name", "")).lower()
    duration = _duration(action.body)
    if urn == DELAY_URN.lower():
        await w.clock.sleep(duration)
    elif urn == VM_SHUTDOWN_URN.lower():
        abrupt = _parameter(action.body, "abruptShutdown").lower() == "true"
        await asyncio.gather(*(_shutdown(ctx, t, vm, abrupt) for t, vm in action.vms))
        _raise_if_failed(action)
        await w.clock.sleep(duration)
        await asyncio.gather(*(_start(ctx, t, vm) for t, vm in action.vms))
        _raise_if_failed(action)
    elif urn == VM_REDEPLOY_URN.lower():
        await asyncio.gather(*(_redeploy(ctx, t, vm) for t, vm in action.vms))
        _raise_if_failed(action)
    now = w.clock.now()
    for target, _ in action.vms:
        target.status, target.completed_time = SUCCEEDED, now
    run.status, run.end_time = SUCCEEDED, now
    ctx.execution.last_action_at = now


async def _shutdown(ctx: RunContext, target: TargetRun, vm: str, abrupt: bool) -> None:
    await _operate(ctx, target, vm, lambda: ctx.world.begin_power_off(vm, skip_shutdown=abrupt))


async def _start(ctx: RunContext, target: TargetRun, vm: str) -> None:
    await _operate(ctx, target, vm, lambda: ctx.world.begin_start(vm))
    ctx.stopped.discard(vm)


async def _redeploy(ctx: RunContext, target: TargetRun, vm: str) -> None:
    await _operate(ctx, target, vm, lambda: ctx.world.begin_redeploy(vm))


async def _operate(ctx: RunContext, target: TargetRun, vm: str, begin: Any) -> None:
    """Run one VM operation once the VM is idle; a refusal or failure fails the target."""
    try:
        await _when_idle(ctx.world, vm)
        op = begin()
        if op.name == "powerOff":
            ctx.stopped.add(vm)
        await op.done.wait()
        if op.status != OP_SUCCEEDED:
            raise ArmError(500, op.error_code or "InternalError", op.error_message or op.status)
    except ArmError as exc:
        target.status, target.failed_time = FAILED, ctx.world.clock.now()
        target.error_code, target.error_message = exc.code, exc.message


async def _when_idle(world: World, vm: str) -> None:
    """Wait out an operation in progress on the VM (bounded: operations end by themselves)."""
    found = world.vm(vm)
    while found is not None and found.busy and found.operation is not None:
        await found.operation.done.wait()
        found = world.vm(vm)


async def _restore(ctx: RunContext) -> None:
    """Start every VM this execution powered off (on cancel or failure)."""

    async def one(vm: str) -> None:
        with contextlib.suppress(ArmError):
            await _when_idle(ctx.world, vm)
            found = ctx.world.vm(vm)
            if found is not None and found.power_state in ("stopped", "deallocated"):
                await ctx.world.begin_start(vm).done.wait()

    await asyncio.gather(*(one(vm) for vm in sorted(ctx.stopped)))
    ctx.stopped.clear()


# ----- validation (pre-processing) ------------------------------------------------------------


def _validate(ctx: RunContext) -> list[tuple[StepRun, list[tuple[BranchRun, list[Resolved]]]]]:
    """Resolve every action's targets to VMs; ExecutionFailed names the first problem."""
    exp, execution = ctx.experiment, ctx.execution
    selectors = {str(s.get("id", "")).lower(): s for s in exp.selectors}
    plan = []
    for step, step_run in zip(exp.steps, execution.steps, strict=True):
        branches = []
        for branch, branch_run in zip(step.get("branches") or [], step_run.branches, strict=True):
            actions = [
                _resolve(ctx, body, run, selectors)
                for body, run in zip(branch.get("actions") or [], branch_run.actions, strict=True)
            ]
            branches.append((branch_run, actions))
        plan.append((step_run, branches))
    return plan


def _resolve(
    ctx: RunContext, body: dict[str, Any], run: ActionRun, selectors: dict[str, dict[str, Any]]
) -> Resolved:
    w = ctx.world
    urn = str(body.get("name", ""))
    resolved = Resolved(body, run)
    if urn.lower().startswith(VMSS_SHUTDOWN_PREFIX.lower()):
        scale_set = w.scale_set
        raise ExecutionFailed(
            f"UnsupportedOrchestrationMode: the fault {urn} supports only Virtual Machine Scale "
            f"Sets in Uniform orchestration; scale set '{scale_set.name}' uses "
            f"{scale_set.orchestration_mode} orchestration. Use the virtual machine shutdown "
            f"fault ({VM_SHUTDOWN_URN}) on {VM_TARGET} targets to shut down selected instances."
        )
    if urn.lower() not in {u.lower() for u in SUPPORTED_URNS}:
        raise ExecutionFailed(f"UnsupportedFault: the emulator does not run the fault {urn}.")
    if urn.lower() == DELAY_URN.lower():
        return resolved
    selector = selectors.get(str(body.get("selectorId", "")).lower())
    if selector is None:
        raise ExecutionFailed(f"InvalidSelector: no selector '{body.get('selectorId')}'.")
    if str(selector.get("type", "")).lower() != "list":
        raise ExecutionFailed(
            f"UnsupportedSelector: selector '{selector.get('id')}' is a {selector.get('type')} "
            "selector; the emulator resolves List selectors only."
        )
    zones = _zones(selector)
    for target_run in run.targets:
        target = w.chaos.target_by_id(target_run.target)
        vm = _check_target(ctx, target_run, target, urn)
        if zones is None or vm.zone in zones:
            resolved.vms.append((target_run, vm.name))
        else:
            target_run.status = "Skipped"
    if len(resolved.vms) > MAX_TARGETS_PER_ACTION:
        raise ExecutionFailed(
            f"TooManyTargets: action {urn} selects {len(resolved.vms)} targets; "
            f"the limit is {MAX_TARGETS_PER_ACTION}."
        )
    return resolved


def _check_target(
    ctx: RunContext, target_run: TargetRun, target: ChaosTarget | None, urn: str
) -> Any:
    def fail(code: str, message: str) -> ExecutionFailed:
        target_run.status, target_run.failed_time = FAILED, ctx.world.clock.now()
        target_run.error_code, target_run.error_message = code, message
        return ExecutionFailed(f"{code}: {message}")

    if target is None:
        raise fail(
            "TargetNotFound",
            f"target '{target_run.target}' is not enabled; create it with PUT "
            f"<vm id>/providers/Microsoft.Chaos/targets/{VM_TARGET}.",
        )
    if urn.lower() not in target.enabled_urns():
        capability = capability_name(urn)
        raise fail(
            "CapabilityNotEnabled",
            f"capability '{capability}' ({urn}) is not enabled on target '{target.id}'; "
            f"enable it with PUT {target.id}/capabilities/{capability}.",
        )
    vm = ctx.world.vm(target.parent_id.rsplit("/", 1)[-1])
    if vm is None or vm.id.lower() != target.parent_id.lower():
        raise fail("ResourceNotFound", f"the target's resource '{target.parent_id}' is gone.")
    return vm


def capability_name(urn: str) -> str:
    """urn:csci:microsoft:virtualMachine:shutdown/1.0 → Shutdown-1.0."""
    fault, _, version = urn.rsplit(":", 1)[-1].partition("/")
    return f"{fault[:1].upper()}{fault[1:]}-{version}"


def _zones(selector: dict[str, Any]) -> set[str] | None:
    chosen = selector.get("filter") or {}
    if str(chosen.get("type", "")).lower() != "simple":
        return None
    zones = (chosen.get("parameters") or {}).get("zones")
    return {str(z) for z in zones} if zones else None


# ----- status bookkeeping ---------------------------------------------------------------------


def _skeleton(experiment: Experiment) -> list[StepRun]:
    """runInformation as it starts: every step, branch, action and target Pending."""
    selectors = {str(s.get("id", "")).lower(): s for s in experiment.selectors}
    steps = []
    for step in experiment.steps:
        branches = []
        for branch in step.get("branches") or []:
            actions = []
            for action in branch.get("actions") or []:
                selector = selectors.get(str(action.get("selectorId", "")).lower()) or {}
                targets = [
                    TargetRun(str(t.get("id", "")))
                    for t in selector.get("targets") or []
                    if isinstance(t, dict)
                ]
                actions.append(ActionRun(str(action.get("name", "")), _new_id(), targets=targets))
            branches.append(BranchRun(str(branch.get("name", "")), _new_id(), actions=actions))
        steps.append(StepRun(str(step.get("name", "")), _new_id(), branches=branches))
    return steps


def _new_id() -> str:
    return str(uuid.uuid4())


def _set_status(ctx: RunContext, status: str) -> None:
    ctx.execution.status = status
    _record(ctx.world, ctx.experiment, ctx.execution)


def _record(world: World, experiment: Experiment, execution: Execution) -> None:
    world.truth.record(
        "chaos_execution",
        None,
        experiment=experiment.name,
        execution_id=execution.id,
        status=execution.status,
    )


def _finish(ctx: RunContext, status: str, reason: str | None = None) -> None:
    execution = ctx.execution
    execution.failure_reason = reason
    execution.stopped_at = ctx.world.clock.now()
    _set_status(ctx, status)
    _finish_op(execution.start_operation)
    _finish_op(execution.cancel_operation)


def _finish_op(op: Any) -> None:
    if op is not None and not op.finished:
        op.finish()


def _mark_open(execution: Execution, status: str) -> None:
    """Steps, branches, actions and targets still pending or running end with `status`."""
    for step in execution.steps:
        for branch in step.branches:
            for action in branch.actions:
                for target in action.targets:
                    if target.status in (PENDING, RUNNING):
                        target.status = status
                if action.status in (PENDING, RUNNING):
                    action.status = status
            if branch.status in (PENDING, RUNNING):
                branch.status = status
        if step.status in (PENDING, RUNNING):
            step.status = status


def _duration(body: dict[str, Any]) -> float:
    text = body.get("duration")
    return parse_duration(str(text)) if text else 0.0


def _parameter(body: dict[str, Any], key: str) -> str:
    for pair in body.get("parameters") or []:
        if isinstance(pair, dict) and str(pair.get("key", "")).lower() == key.lower():
            return str(pair.get("value", ""))
    return ""


def _raise_if_failed(action: Resolved) -> None:
    failed = [t for t, _ in action.vms if t.status == FAILED]
    if failed:
        first = failed[0]
        raise ExecutionFailed(
            f"ActionFailed: {action.run.name} failed on {len(failed)} target(s); "
            f"first: {first.target}: {first.error_code}: {first.error_message}"
        )
