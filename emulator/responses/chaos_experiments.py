"""Microsoft.Chaos experiments: PUT (201/200 with Azure-AsyncOperation; the SDK then GETs the
resource), GET, list, DELETE, start and cancel (202 with Azure-AsyncOperation and Location),
as azure-mgmt-chaos 2.0.0 calls them (docs/azure-behaviour.md §5.2, §5.3). Validation and
provisioning are the model's (emulator.models.chaos); this module only renders.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.models.chaos import Experiment
from emulator.models.chaos.executor import request_cancel, start_execution
from emulator.responses._arm import check_scope, check_subscription, iso, json_object, paged, world
from emulator.responses.operations import CHAOS, accepted
from emulator.routing import Route

SUB = "/subscriptions/{subscriptionId}"
EXPERIMENTS = SUB + "/resourceGroups/{resourceGroupName}/providers/Microsoft.Chaos/experiments"
EXPERIMENT = EXPERIMENTS + "/{experimentName}"
PAGE_SIZE = 50


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


def find_experiment(request: web.Request) -> Experiment:
    """The experiment named in the path; 404 ResourceNotFound when absent."""
    group = check_scope(request)
    return world(request).chaos.get_experiment(group, request.match_info["experimentName"])


async def put_experiment(request: web.Request) -> web.Response:
    check_scope(request)
    w = world(request)
    name = request.match_info["experimentName"]
    body = await json_object(request)
    experiment_id = f"{w.scale_set.rg_prefix}/providers/Microsoft.Chaos/experiments/{name}"
    exp, op, created = w.chaos.put_experiment(experiment_id, name, body)
    rendered = render_experiment(exp)
    return accepted(request, op, CHAOS, 201 if created else 200, body=rendered, location=False)


async def get_experiment(request: web.Request) -> web.Response:
    return web.json_response(render_experiment(find_experiment(request)))


async def delete_experiment(request: web.Request) -> web.Response:
    group = check_scope(request)
    op = world(request).chaos.begin_delete_experiment(group, request.match_info["experimentName"])
    if op is None:
        return web.Response(status=204)
    return accepted(request, op, CHAOS)


def _experiment_list(request: web.Request) -> web.Response:
    experiments = list(world(request).chaos.experiments.values())
    if request.query.get("running", "").lower() == "true":
        experiments = [e for e in experiments if e.running() is not None]
    return paged(request, experiments, PAGE_SIZE, render_experiment)


async def list_experiments(request: web.Request) -> web.Response:
    check_scope(request)
    return _experiment_list(request)


async def list_all_experiments(request: web.Request) -> web.Response:
    check_subscription(request)
    return _experiment_list(request)


async def start_experiment(request: web.Request) -> web.Response:
    execution = start_execution(world(request), find_experiment(request))
    assert execution.start_operation is not None
    return accepted(request, execution.start_operation, CHAOS)


async def cancel_experiment(request: web.Request) -> web.Response:
    op = request_cancel(world(request), find_experiment(request))
    return accepted(request, op, CHAOS)


ROUTES = [
    Route("GET", SUB + "/providers/Microsoft.Chaos/experiments", list_all_experiments),
    Route("GET", EXPERIMENTS, list_experiments),
    Route("GET", EXPERIMENT, get_experiment),
    Route("PUT", EXPERIMENT, put_experiment),
    Route("DELETE", EXPERIMENT, delete_experiment),
    Route("POST", EXPERIMENT + "/start", start_experiment),
    Route("POST", EXPERIMENT + "/cancel", cancel_experiment),
]
