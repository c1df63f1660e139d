"""Microsoft.Chaos experiment executions: list (newest first), get, and getExecutionDetails
with runInformation (steps → branches → actions → targets), as azure-mgmt-chaos 2.0.0 reads
them (docs/azure-behaviour.md §5.3).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.models.chaos import Execution, Experiment
from emulator.models.chaos.executions import ActionRun, StepRun, TargetRun
from emulator.models.errors import ResourceNotFound
from emulator.responses._arm import error_detail, iso, paged
from emulator.responses.chaos_experiments import EXPERIMENT, PAGE_SIZE, find_experiment
from emulator.routing import Route

EXECUTION = EXPERIMENT + "/executions/{executionId}"
EXECUTION_TYPE = "Microsoft.Chaos/experiments/executions"


def render_execution(exp: Experiment, execution: Execution) -> dict[str, Any]:
    props: dict[str, Any] = {"status": execution.status, "startedAt": iso(execution.started_at)}
    if execution.stopped_at is not None:
        props["stoppedAt"] = iso(execution.stopped_at)
    return {
        "id": f"{exp.id}/executions/{execution.id}",
        "name": execution.id,
        "type": EXECUTION_TYPE,
        "properties": props,
    }


def _render_target(t: TargetRun) -> dict[str, Any]:
    target: dict[str, Any] = {"status": t.status, "target": t.target}
    if t.completed_time is not None:
        target["targetCompletedTime"] = iso(t.completed_time)
    if t.failed_time is not None:
        target["targetFailedTime"] = iso(t.failed_time)
    if t.error is not None:
        target["error"] = error_detail(t.error)
    return target


def _render_action(action: ActionRun) -> dict[str, Any]:
    rendered: dict[str, Any] = {
        "actionName": action.name,
        "actionId": action.id,
        "status": action.status,
        "targets": [_render_target(t) for t in action.targets],
    }
    if action.start_time is not None:
        rendered["startTime"] = iso(action.start_time)
    if action.end_time is not None:
        rendered["endTime"] = iso(action.end_time)
    return rendered


def _render_step(step: StepRun) -> dict[str, Any]:
    return {
        "stepName": step.name,
        "stepId": step.id,
        "status": step.status,
        "branches": [
            {
                "branchName": b.name,
                "branchId": b.id,
                "status": b.status,
                "actions": [_render_action(a) for a in b.actions],
            }
            for b in step.branches
        ],
    }


def render_details(exp: Experiment, execution: Execution) -> dict[str, Any]:
    props: dict[str, Any] = {
        "status": execution.status,
        "startedAt": iso(execution.started_at),
        "runInformation": {"steps": [_render_step(s) for s in execution.steps]},
    }
    if execution.stopped_at is not None:
        props["stoppedAt"] = iso(execution.stopped_at)
    if execution.last_action_at is not None:
        props["lastActionAt"] = iso(execution.last_action_at)
    if execution.failure_reason:
        props["failureReason"] = execution.failure_reason
    return {
        "type": EXECUTION_TYPE,
        "id": f"{exp.id}/executions/{execution.id}",
        "name": execution.id,
        "properties": props,
    }


def _execution(request: web.Request) -> tuple[Experiment, Execution]:
    exp = find_experiment(request)
    execution_id = request.match_info["executionId"]
    execution = exp.execution(execution_id)
    if execution is None:
        raise ResourceNotFound(
            f"Execution '{execution_id}' of experiment '{exp.name}' was not found."
        )
    return exp, execution


async def list_executions(request: web.Request) -> web.Response:
    exp = find_experiment(request)
    newest_first = sorted(exp.executions, key=lambda e: e.started_at, reverse=True)
    return paged(request, newest_first, PAGE_SIZE, lambda e: render_execution(exp, e))


async def get_execution(request: web.Request) -> web.Response:
    return web.json_response(render_execution(*_execution(request)))


async def execution_details(request: web.Request) -> web.Response:
    return web.json_response(render_details(*_execution(request)))


ROUTES = [
    Route("GET", EXPERIMENT + "/executions", list_executions),
    Route("GET", EXECUTION, get_execution),
    Route("POST", EXECUTION + "/getExecutionDetails", execution_details),
]
