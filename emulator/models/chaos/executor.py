"""Runs Chaos Studio executions against the world's VMs, as the service does.

An execution goes PreProcessingQueued → WaitingToStart → Running → Success | Failed |
Cancelled (Cancelling while a cancel brings the VMs back). Pre-processing (preprocessing.py)
validates before anything is touched. Steps run in order, branches of a step in parallel,
actions of a branch in order; each action runs its fault (faults.py). A cancel or a failure
starts every VM the execution stopped. Each status change is recorded as a `chaos_execution`
truth event; the VMs' `power_state` events come from the world.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from emulator.models.chaos.executions import (
    CANCELLED,
    CANCELLING,
    FAILED,
    RUNNING,
    SUCCEEDED,
    SUCCESS,
    WAITING_TO_START,
    BranchRun,
    Execution,
    skeleton,
)
from emulator.models.chaos.experiments import SUCCEEDED as PROVISIONED
from emulator.models.chaos.experiments import Experiment
from emulator.models.chaos.faults import FAULTS, Resolved, RunContext, when_idle
from emulator.models.chaos.preprocessing import validate
from emulator.models.errors import ActionFailed, ArmError, AzureError, Conflict, InternalError
from emulator.models.operations import Operation

if TYPE_CHECKING:
    from emulator.models.world import World

# Platform seconds (scaled by the Clock) an execution stays queued, then waiting to start.
# Azure publishes no figure; a few seconds.
QUEUED_S = 5.0
WAITING_S = 5.0


# ----- entry points used by the routes --------------------------------------------------------


def start_execution(world: World, experiment: Experiment) -> Execution:
    """Accept a start: a new execution, queued; Conflict if one is already running."""
    if experiment.provisioning_state != PROVISIONED:
        raise Conflict(
            f"Experiment '{experiment.name}' is {experiment.provisioning_state}; "
            "start it once it is provisioned."
        )
    if experiment.running() is not None:
        raise Conflict(
            f"Experiment '{experiment.name}' already has an execution in progress; "
            "cancel it or wait for it to end."
        )
    execution = Execution(experiment.name)
    execution.steps = skeleton(experiment.selectors, experiment.steps)
    chaos = world.chaos
    execution.start_operation = chaos.new_operation(
        "start", experiment.id, world.clock.wall(QUEUED_S)
    )
    experiment.executions.append(execution)
    _record(world, experiment, execution)
    chaos.spawn(_run(RunContext(world, experiment, execution)))
    return execution


def request_cancel(world: World, experiment: Experiment) -> Operation:
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
        if not isinstance(error, AzureError):
            error = InternalError(str(error))
        ctx.execution.mark_open(FAILED)
        await _restore(ctx)
        _finish(ctx, FAILED, str(error))
        return
    _set_status(ctx, CANCELLING)
    body.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await body
    ctx.execution.mark_open(CANCELLED)
    await _restore(ctx)
    _finish(ctx, CANCELLED)


async def _body(ctx: RunContext) -> None:
    clock = ctx.world.clock
    await clock.sleep(QUEUED_S)
    plan = validate(ctx)
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
    if w.chaos.actions == "fail":
        raise ActionFailed(f"{run.name} failed (emulated failure, control faults)")
    if w.chaos.actions == "inert":  # accepted and run, but the fault never takes effect
        await w.clock.sleep(action.duration)
    else:
        await FAULTS[action.urn.lower()](ctx, action)
    now = w.clock.now()
    for target, _ in action.vms:
        if target.status != SUCCEEDED:
            target.complete(now)
    run.status, run.end_time = SUCCEEDED, now
    ctx.execution.last_action_at = now


async def _restore(ctx: RunContext) -> None:
    """Start every VM this execution powered off (on cancel or failure)."""

    async def one(vm: str) -> None:
        with contextlib.suppress(ArmError):
            await when_idle(ctx.world, vm)
            found = ctx.world.vm(vm)
            if found is not None and found.power_state in ("stopped", "deallocated"):
                await ctx.world.begin_start(vm).done.wait()

    await asyncio.gather(*(one(vm) for vm in sorted(ctx.stopped)))
    ctx.stopped.clear()


# ----- status bookkeeping ---------------------------------------------------------------------


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


def _finish_op(op: Operation | None) -> None:
    if op is not None and not op.finished:
        op.finish()
