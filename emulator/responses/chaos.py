"""Microsoft.Chaos: targets and capabilities on a VM or the scale set, experiments, their start,
cancel and executions, and the Chaos operation-status routes the SDK polls.

Shapes and status codes follow azure-mgmt-chaos 2.0.0 (azure-semantics.md §5.3): targets and
capabilities are synchronous (201 new / 200 updated); experiment PUT answers 201/200 with
Azure-AsyncOperation (the SDK then GETs the resource); start, cancel and DELETE answer 202 with
Azure-AsyncOperation and Location, and the Location URL answers 202 until done, then 204.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from emulator import chaos_executor
from emulator.models import ArmError, Operation, World
from emulator.models.chaos import (
    MAX_ACTIONS,
    MAX_BRANCHES,
    MAX_DURATION_S,
    MAX_STEPS,
    TARGET_TYPES,
    ActionRun,
    ChaosTarget,
    Execution,
    Experiment,
    StepRun,
    parse_duration,
)
from emulator.models.errors import not_found
from emulator.responses._arm import (
    api_version,
    base_url,
    check_scope,
    check_subscription,
    iso,
    page,
    poll_headers,
    world,
)
from emulator.routing import Route

SUB = "/subscriptions/{subscriptionId}"
RG = SUB + "/resourceGroups/{resourceGroupName}"
PARENT = RG + "/providers/{parentProviderNamespace}/{parentResourceType}/{parentResourceName}"
TARGETS = PARENT + "/providers/Microsoft.Chaos/targets"
TARGET = TARGETS + "/{targetName}"
CAPABILITIES = TARGET + "/capabilities"
CAPABILITY = CAPABILITIES + "/{capabilityName}"
EXPERIMENTS = RG + "/providers/Microsoft.Chaos/experiments"
EXPERIMENT = EXPERIMENTS + "/{experimentName}"
EXECUTION = EXPERIMENT + "/executions/{executionId}"
LOCATIONS = SUB + "/providers/Microsoft.Chaos/locations/{location}"
PAGE_SIZE = 50
ACTION_TYPES = ("continuous", "discrete", "delay")


def bad_request(message: str) -> ArmError:
    return ArmError(400, "BadRequest", message)


# ----- long-running operations ----------------------------------------------------------------


def _operation_urls(request: web.Request, w: World, op: Operation) -> dict[str, str]:
    prefix = (
        f"{base_url(request)}/subscriptions/{w.scale_set.subscription_id}/providers/"
        f"Microsoft.Chaos/locations/{w.scale_set.location}"
    )
    query = f"?api-version={api_version(request)}"
    return {
        "Azure-AsyncOperation": f"{prefix}/operationStatuses/{op.id}{query}",
        "Location": f"{prefix}/operationResults/{op.id}{query}",
    }


def _accepted(request: web.Request, op: Operation) -> web.Response:
    """202 with both monitor URLs, even when the operation already finished (202 is the only
    answer the SDK accepts for start and cancel)."""
    headers = {**_operation_urls(request, world(request), op), **poll_headers(op)}
    return web.Response(status=202, headers=headers)


def _operation(request: web.Request) -> Operation:
    check_subscription(request)
    op_id = request.match_info["operationId"]
    op = world(request).chaos.operations.get(op_id)
    if op is None:
        raise ArmError(404, "ResourceNotFound", f"Operation '{op_id}' not found.")
    return op


async def operation_status(request: web.Request) -> web.Response:
    op = _operation(request)
    body: dict[str, Any] = {
        "id": request.path,
        "name": op.id,
        "resourceId": op.resource_id,
        "status": op.status,
        "startTime": iso(op.start_time),
        "percentComplete": 100.0 if op.finished else 0.0,
    }
    if op.end_time is not None:
        body["endTime"] = iso(op.end_time)
    if op.error_code:
        body["error"] = {"code": op.error_code, "message": op.error_message or ""}
    headers = {} if op.finished else poll_headers(op, with_retry_after=False)
    return web.json_response(body, headers=headers)


async def operation_result(request: web.Request) -> web.Response:
    op = _operation(request)
    if not op.finished:
        headers = {"Location": str(request.url), **poll_headers(op, with_retry_after=False)}
        return web.Response(status=202, headers=headers)
    return web.Response(status=204)


# ----- targets and capabilities ---------------------------------------------------------------


def _parent(request: web.Request) -> str:
    """The canonical id of the target's parent (a VM or the scale set); 404 when missing."""
    group = check_scope(request)
    w = world(request)
    namespace = request.match_info["parentProviderNamespace"]
    kind = request.match_info["parentResourceType"]
    name = request.match_info["parentResourceName"]
    if namespace.lower() != "microsoft.compute" or kind.lower() not in (
        "virtualmachines",
        "virtualmachinescalesets",
    ):
        raise bad_request(
            f"The emulator serves Chaos targets on Microsoft.Compute/virtualMachines and "
            f"virtualMachineScaleSets only, not {namespace}/{kind}."
        )
    if kind.lower() == "virtualmachines":
        return w.get_vm(group, name).id
    if name.lower() != w.scale_set.name.lower():
        raise not_found("virtualMachineScaleSets", name, group)
    return w.scale_set.id


def _target_type(request: web.Request, parent_id: str) -> str:
    """The canonical target name, valid for this parent's resource type."""
    name = request.match_info["targetName"]
    parent_type = parent_id.split("/")[-2].lower()
    for known, (resource_type, _) in TARGET_TYPES.items():
        if known.lower() == name.lower():
            if resource_type.lower() != parent_type:
                break
            return known
    allowed = [n for n, (t, _) in TARGET_TYPES.items() if t.lower() == parent_type]
    raise bad_request(
        f"Target type '{name}' is not valid on {parent_id.split('/')[-2]}; use {allowed[0]}."
    )


def _existing_target(request: web.Request) -> ChaosTarget:
    parent_id = _parent(request)
    name = request.match_info["targetName"]
    target = world(request).chaos.target(parent_id, name)
    if target is None:
        raise ArmError(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.Chaos/targets/{name}' on '{parent_id}' was not found.",
        )
    return target


def render_target(target: ChaosTarget) -> dict[str, Any]:
    return {
        "id": target.id,
        "name": target.name,
        "type": "Microsoft.Chaos/targets",
        "location": target.location,
        "properties": dict(target.properties),
    }


def render_capability(target: ChaosTarget, name: str) -> dict[str, Any]:
    spec = target.capability_spec(name)
    assert spec is not None
    return {
        "id": f"{target.id}/capabilities/{name}",
        "name": name,
        "type": "Microsoft.Chaos/targets/capabilities",
        "properties": {
            "publisher": "Microsoft",
            "targetType": spec.target_type,
            "description": spec.description,
            "parametersSchema": spec.parameters_schema,
            "urn": spec.urn,
        },
    }


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content is not a JSON object.")
    return body


async def list_targets(request: web.Request) -> web.Response:
    parent_id = _parent(request)
    targets = world(request).chaos.targets_of(parent_id)
    return web.json_response({"value": [render_target(t) for t in targets]})


async def get_target(request: web.Request) -> web.Response:
    return web.json_response(render_target(_existing_target(request)))


async def put_target(request: web.Request) -> web.Response:
    parent_id = _parent(request)
    name = _target_type(request, parent_id)
    body = await _json_object(request)
    properties = body.get("properties")
    if not isinstance(properties, dict):
        raise bad_request("The target needs a 'properties' object (may be empty).")
    w = world(request)
    target = ChaosTarget(parent_id, name, str(body.get("location") or w.scale_set.location))
    target.properties = dict(properties)
    created = w.chaos.put_target(target)
    current = w.chaos.target(parent_id, name)
    assert current is not None
    return web.json_response(render_target(current), status=201 if created else 200)


async def delete_target(request: web.Request) -> web.Response:
    parent_id = _parent(request)
    deleted = world(request).chaos.delete_target(parent_id, request.match_info["targetName"])
    return web.Response(status=200 if deleted else 204)


async def list_capabilities(request: web.Request) -> web.Response:
    target = _existing_target(request)
    return web.json_response(
        {"value": [render_capability(target, c) for c in target.capabilities.values()]}
    )


def _capability_name(request: web.Request, target: ChaosTarget) -> str:
    name = request.match_info["capabilityName"]
    for known in TARGET_TYPES[target.name][1]:
        if known.lower() == name.lower():
            return known
    offered = ", ".join(TARGET_TYPES[target.name][1])
    raise bad_request(f"Capability '{name}' does not exist on {target.name}; use one of {offered}.")


async def get_capability(request: web.Request) -> web.Response:
    target = _existing_target(request)
    name = _capability_name(request, target)
    if name.lower() not in target.capabilities:
        raise ArmError(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.Chaos/targets/capabilities/{target.name}/{name}' on "
            f"'{target.parent_id}' was not found.",
        )
    return web.json_response(render_capability(target, name))


async def put_capability(request: web.Request) -> web.Response:
    target = _existing_target(request)
    name = _capability_name(request, target)
    await _json_object(request)
    created = name.lower() not in target.capabilities
    target.capabilities[name.lower()] = name
    return web.json_response(render_capability(target, name), status=201 if created else 200)


async def delete_capability(request: web.Request) -> web.Response:
    target = _existing_target(request)
    name = request.match_info["capabilityName"]
    deleted = target.capabilities.pop(name.lower(), None) is not None
    return web.Response(status=200 if deleted else 204)


# ----- experiments ----------------------------------------------------------------------------


def experiment_id(w: World, name: str) -> str:
    return f"{w.scale_set.rg_prefix}/providers/Microsoft.Chaos/experiments/{name}"


def render_experiment(exp: Experiment) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": exp.id,
        "name": exp.name,
        "type": "Microsoft.Chaos/experiments",
        "location": exp.location,
        "tags": dict(exp.tags),
        "systemData": {"createdAt": iso(exp.created_at), "lastModifiedAt": iso(exp.modified_at)},
        "properties": {
            "provisioningState": exp.provisioning_state,
            "selectors": exp.selectors,
            "steps": exp.steps,
        },
    }
    if exp.identity is not None:
        body["identity"] = exp.identity
    return body


def _check_definition(props: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """What ARM validates on PUT: shape, limits, durations, selector references."""
    selectors, steps = props.get("selectors"), props.get("steps")
    if not isinstance(selectors, list) or not isinstance(steps, list) or not steps:
        raise bad_request("An experiment needs properties.selectors and at least one step.")
    ids = set()
    for selector in selectors:
        if not isinstance(selector, dict) or not selector.get("id"):
            raise bad_request("Every selector needs an 'id'.")
        if str(selector.get("type", "")).lower() not in ("list", "query"):
            raise bad_request(f"Selector '{selector['id']}' has type {selector.get('type')!r}.")
        ids.add(str(selector["id"]).lower())
    if len(steps) > MAX_STEPS:
        raise bad_request(f"An experiment has at most {MAX_STEPS} steps, not {len(steps)}.")
    for step in steps:
        branches = step.get("branches") if isinstance(step, dict) else None
        if not isinstance(branches, list) or not 1 <= len(branches) <= MAX_BRANCHES:
            raise bad_request(f"Every step needs 1 to {MAX_BRANCHES} branches.")
        for branch in branches:
            actions = branch.get("actions") if isinstance(branch, dict) else None
            if not isinstance(actions, list) or not 1 <= len(actions) <= MAX_ACTIONS:
                raise bad_request(f"Every branch needs 1 to {MAX_ACTIONS} actions.")
            for action in actions:
                _check_action(action, ids)
    return selectors, steps


def _check_action(action: Any, selector_ids: set[str]) -> None:
    if not isinstance(action, dict) or not action.get("name"):
        raise bad_request("Every action needs a 'name' (the fault URN).")
    kind = str(action.get("type", "")).lower()
    if kind not in ACTION_TYPES:
        raise bad_request(f"Action {action['name']} has type {action.get('type')!r}.")
    if kind in ("continuous", "delay"):
        try:
            seconds = parse_duration(str(action.get("duration", "")))
        except ValueError as exc:
            raise bad_request(f"Action {action['name']}: {exc}.") from None
        if not 0 < seconds <= MAX_DURATION_S:
            raise bad_request(f"Action {action['name']}: the duration must be > 0 and <= PT12H.")
    if kind != "delay" and str(action.get("selectorId", "")).lower() not in selector_ids:
        raise bad_request(
            f"Action {action['name']} refers to selector {action.get('selectorId')!r}, "
            "which the experiment does not define."
        )


def _identity(body: dict[str, Any], current: Experiment | None) -> dict[str, Any] | None:
    identity = body.get("identity")
    if not isinstance(identity, dict):
        return None
    rendered = dict(identity)
    if "SystemAssigned" in str(identity.get("type", "")):
        kept = (current.identity or {}) if current else {}
        rendered["principalId"] = kept.get("principalId") or _uuid()
        rendered["tenantId"] = kept.get("tenantId") or "00000000-0000-0000-0000-0000000070a0"
    return rendered


def _uuid() -> str:
    return str(uuid.uuid4())


def _experiment(request: web.Request) -> Experiment:
    group = check_scope(request)
    return world(request).chaos.get_experiment(group, request.match_info["experimentName"])


async def _provision(w: World, exp: Experiment, op: Operation, final: Any = None) -> None:
    await w.clock.sleep(chaos_executor.PROVISION_S)
    if final is not None:
        final()
    else:
        exp.provisioning_state = "Succeeded"
    op.finish()


async def put_experiment(request: web.Request) -> web.Response:
    check_scope(request)
    w = world(request)
    name = request.match_info["experimentName"]
    body = await _json_object(request)
    location = body.get("location")
    if not isinstance(location, str) or not location:
        raise bad_request("An experiment needs a 'location' (a region with Chaos Studio).")
    props = body.get("properties")
    if not isinstance(props, dict):
        raise bad_request("An experiment needs a 'properties' object.")
    selectors, steps = _check_definition(props)
    current = w.chaos.experiment(name)
    if current is not None and (current.running() or current.provisioning_state != "Succeeded"):
        raise ArmError(
            409,
            "Conflict",
            f"Experiment '{current.name}' is running or being provisioned; it cannot be "
            "changed now.",
        )
    if current is None:
        exp = Experiment(name, experiment_id(w, name), location, selectors, steps)
        w.chaos.experiments[name.lower()] = exp
    else:
        exp = current
        exp.location, exp.selectors, exp.steps = location, selectors, steps
        exp.provisioning_state = "Updating"
        exp.modified_at = w.clock.now()
    exp.identity = _identity(body, current)
    exp.tags = {str(k): str(v) for k, v in (body.get("tags") or {}).items()}
    op = w.chaos.new_operation("experiments.put", exp.id, w.clock.wall(chaos_executor.PROVISION_S))
    w.chaos.spawn(_provision(w, exp, op))
    headers = {"Azure-AsyncOperation": _operation_urls(request, w, op)["Azure-AsyncOperation"]}
    headers.update(poll_headers(op))
    return web.json_response(
        render_experiment(exp), status=201 if current is None else 200, headers=headers
    )


async def get_experiment(request: web.Request) -> web.Response:
    return web.json_response(render_experiment(_experiment(request)))


async def delete_experiment(request: web.Request) -> web.Response:
    group = check_scope(request)
    w = world(request)
    exp = w.chaos.experiment(request.match_info["experimentName"])
    if exp is None:
        return web.Response(status=204)
    if exp.running() is not None or exp.provisioning_state != "Succeeded":
        raise ArmError(
            409,
            "Conflict",
            f"Experiment '{exp.name}' in '{group}' is running or being provisioned; cancel it "
            "or wait before deleting it.",
        )
    exp.provisioning_state = "Deleting"
    op = w.chaos.new_operation(
        "experiments.delete", exp.id, w.clock.wall(chaos_executor.PROVISION_S)
    )
    w.chaos.spawn(
        _provision(w, exp, op, final=lambda: w.chaos.experiments.pop(exp.name.lower(), None))
    )
    return _accepted(request, op)


def _experiment_list(request: web.Request, experiments: list[Experiment]) -> web.Response:
    if request.query.get("running", "").lower() == "true":
        experiments = [e for e in experiments if e.running() is not None]
    chunk, next_link = page(request, experiments, PAGE_SIZE)
    body: dict[str, Any] = {"value": [render_experiment(e) for e in chunk]}
    if next_link:
        body["nextLink"] = next_link
    return web.json_response(body)


async def list_experiments(request: web.Request) -> web.Response:
    check_scope(request)
    return _experiment_list(request, list(world(request).chaos.experiments.values()))


async def list_all_experiments(request: web.Request) -> web.Response:
    check_subscription(request)
    return _experiment_list(request, list(world(request).chaos.experiments.values()))


async def start_experiment(request: web.Request) -> web.Response:
    exp = _experiment(request)
    execution = chaos_executor.start_execution(world(request), exp)
    assert execution.start_operation is not None
    return _accepted(request, execution.start_operation)


async def cancel_experiment(request: web.Request) -> web.Response:
    exp = _experiment(request)
    return _accepted(request, chaos_executor.request_cancel(world(request), exp))


# ----- executions -----------------------------------------------------------------------------


def render_execution(exp: Experiment, execution: Execution) -> dict[str, Any]:
    props: dict[str, Any] = {"status": execution.status, "startedAt": iso(execution.started_at)}
    if execution.stopped_at is not None:
        props["stoppedAt"] = iso(execution.stopped_at)
    return {
        "id": f"{exp.id}/executions/{execution.id}",
        "name": execution.id,
        "type": "Microsoft.Chaos/experiments/executions",
        "properties": props,
    }


def _render_action(action: ActionRun) -> dict[str, Any]:
    targets = []
    for t in action.targets:
        target: dict[str, Any] = {"status": t.status, "target": t.target}
        if t.completed_time is not None:
            target["targetCompletedTime"] = iso(t.completed_time)
        if t.failed_time is not None:
            target["targetFailedTime"] = iso(t.failed_time)
        if t.error_code:
            target["error"] = {"code": t.error_code, "message": t.error_message or ""}
        targets.append(target)
    rendered: dict[str, Any] = {
        "actionName": action.name,
        "actionId": action.id,
        "status": action.status,
        "targets": targets,
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
        "type": "Microsoft.Chaos/experiments/executions",
        "id": f"{exp.id}/executions/{execution.id}",
        "name": execution.id,
        "properties": props,
    }


def _execution(request: web.Request) -> tuple[Experiment, Execution]:
    exp = _experiment(request)
    execution_id = request.match_info["executionId"]
    execution = exp.execution(execution_id)
    if execution is None:
        raise ArmError(
            404,
            "ResourceNotFound",
            f"Execution '{execution_id}' of experiment '{exp.name}' was not found.",
        )
    return exp, execution


async def list_executions(request: web.Request) -> web.Response:
    exp = _experiment(request)
    newest_first = sorted(exp.executions, key=lambda e: e.started_at, reverse=True)
    chunk, next_link = page(request, newest_first, PAGE_SIZE)
    body: dict[str, Any] = {"value": [render_execution(exp, e) for e in chunk]}
    if next_link:
        body["nextLink"] = next_link
    return web.json_response(body)


async def get_execution(request: web.Request) -> web.Response:
    return web.json_response(render_execution(*_execution(request)))


async def execution_details(request: web.Request) -> web.Response:
    return web.json_response(render_details(*_execution(request)))


ROUTES = [
    Route("GET", TARGETS, list_targets),
    Route("GET", TARGET, get_target),
    Route("PUT", TARGET, put_target),
    Route("DELETE", TARGET, delete_target),
    Route("GET", CAPABILITIES, list_capabilities),
    Route("GET", CAPABILITY, get_capability),
    Route("PUT", CAPABILITY, put_capability),
    Route("DELETE", CAPABILITY, delete_capability),
    Route("GET", SUB + "/providers/Microsoft.Chaos/experiments", list_all_experiments),
    Route("GET", EXPERIMENTS, list_experiments),
    Route("GET", EXPERIMENT, get_experiment),
    Route("PUT", EXPERIMENT, put_experiment),
    Route("DELETE", EXPERIMENT, delete_experiment),
    Route("POST", EXPERIMENT + "/start", start_experiment),
    Route("POST", EXPERIMENT + "/cancel", cancel_experiment),
    Route("GET", EXPERIMENT + "/executions", list_executions),
    Route("GET", EXECUTION, get_execution),
    Route("POST", EXECUTION + "/getExecutionDetails", execution_details),
    Route("GET", LOCATIONS + "/operationStatuses/{operationId}", operation_status),
    Route("GET", LOCATIONS + "/operationResults/{operationId}", operation_result),
]
