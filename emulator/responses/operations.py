"""Long-running operations, for Compute, Chaos Studio and Network alike: the initial answer
(Azure-AsyncOperation, Location, Retry-After), the status monitor and the Location URL, as
ARM's asynchronous-operation contract has them (docs/azure-behaviour.md §6.1).

Each provider spells these slightly differently; an `LroStyle` holds the differences and
everything else is one rendering:
- Compute: `Azure-AsyncOperation: …/Microsoft.Compute/locations/{loc}/operations/{id}` and
  `Location: …/operations/{id}?monitor=true` (the same resource, read as the operation's
  result); status body `{name, status, startTime, endTime?, error?}`; an action with nothing
  to do answers 200.
- Chaos: monitor `…/Microsoft.Chaos/locations/{loc}/operationStatuses/{id}` (an
  OperationStatusResult: adds id, resourceId, percentComplete), Location
  `…/locations/{loc}/operationResults/{id}`; start, cancel and delete answer 202.
- Network (the load balancer's health status, responses/lb_health.py): monitor
  `…/Microsoft.Network/locations/{loc}/operations/{id}`, Location `…/operationResults/{id}`
  whose final answer has a body.
Every in-progress answer (the initial 202, the status monitor while InProgress, the Location
while 202) carries an integer `Retry-After` (seconds, >= 1) and `retry-after-ms` (the
emulator's compressed wait). The Location answers 202 while running, then 200 (with the
result's body when the operation has one) or, when the operation failed or was canceled, the
error's status with `{"error": {code, message}}`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.models import Operation, World
from emulator.models.errors import ResourceNotFound
from emulator.responses._arm import (
    api_version,
    base_url,
    check_subscription,
    error_detail,
    error_response,
    iso,
)
from emulator.responses._arm import world as world_of
from emulator.responses._extension_render import render_extension
from emulator.routing import Route

MIN_POLL_MS = 20
MAX_POLL_MS = 1000


@dataclass(frozen=True)
class LroStyle:
    """How one resource provider spells its long-running operations."""

    provider: str  # "Microsoft.Compute"
    monitor: str  # the status monitor's path segment: "operations" | "operationStatuses"
    find: Callable[[World, str], Operation | None]  # where its operations are kept
    status_result: bool  # the monitor answers an OperationStatusResult (id, resourceId, %)
    ok_when_done: bool  # an already finished operation answers 200 with no headers
    # the body the operation result (Location) answers with 200 once done; None: no body
    render_result: Callable[[World, Operation], dict[str, Any]] | None = None
    # the Location is the status monitor read with ?monitor=true (Compute), not operationResults
    location_at_monitor: bool = False

    def locations(self) -> str:
        return f"/subscriptions/{{subscriptionId}}/providers/{self.provider}/locations/{{location}}"


def _compute_result(w: World, op: Operation) -> dict[str, Any]:
    """An extension PUT/PATCH's result (its final-state-schema is VirtualMachineExtension)."""
    vm, ext = op.output  # type: ignore[misc]
    return render_extension(vm, ext, w.scale_set.location)


COMPUTE = LroStyle(
    "Microsoft.Compute",
    "operations",
    lambda w, op_id: w.operation(op_id),
    status_result=False,
    ok_when_done=True,
    render_result=_compute_result,
    location_at_monitor=True,
)
CHAOS = LroStyle(
    "Microsoft.Chaos",
    "operationStatuses",
    lambda w, op_id: w.chaos.operations.get(op_id),
    status_result=True,
    ok_when_done=False,
)


def poll_headers(op: Operation) -> dict[str, str]:
    """Polling hints on every in-progress answer: ARM's integer `Retry-After` (seconds, >= 1;
    a fractional value crashes azure-core's header parsing, docs/azure-behaviour.md §0.5) and
    `retry-after-ms`, the wait at the emulator's compressed pace. azure-core reads Retry-After
    first; the harness's emulator clients prefer retry-after-ms (fleet/clients.py)."""
    remaining = op.remaining_wall()
    wait_ms = min(MAX_POLL_MS, max(MIN_POLL_MS, math.ceil(remaining * 1000) + 10))
    return {"Retry-After": str(max(1, math.ceil(remaining))), "retry-after-ms": str(wait_ms)}


def operation_urls(request: web.Request, op: Operation, style: LroStyle) -> dict[str, str]:
    """Azure-AsyncOperation (the status monitor) and Location (the operation result)."""
    w = world_of(request)
    prefix = (
        f"{base_url(request)}/subscriptions/{w.scale_set.subscription_id}/providers/"
        f"{style.provider}/locations/{w.scale_set.location}"
    )
    version = api_version(request)
    monitor = f"{prefix}/{style.monitor}/{op.id}"
    location = (
        f"{monitor}?monitor=true&api-version={version}"
        if style.location_at_monitor
        else f"{prefix}/operationResults/{op.id}?api-version={version}"
    )
    return {"Azure-AsyncOperation": f"{monitor}?api-version={version}", "Location": location}


def accepted(
    request: web.Request,
    op: Operation,
    style: LroStyle = COMPUTE,
    status: int = 202,
    body: dict[str, Any] | None = None,
    location: bool = True,
) -> web.Response:
    """The initial answer of a long-running operation: `status` (with `body` if given), the
    monitor URLs (without Location when `location` is false) and the polling hints."""
    if op.finished and body is None and style.ok_when_done:
        return web.Response(status=200)
    headers = {**operation_urls(request, op, style), **poll_headers(op)}
    if style.location_at_monitor:  # Compute's request id is its operation id (§6.1 trace)
        headers["x-ms-request-id"] = op.id
    if not location:
        headers.pop("Location")
    if body is None:
        return web.Response(status=status, headers=headers)
    return web.json_response(body, status=status, headers=headers)


def render_status(request: web.Request, op: Operation, style: LroStyle) -> dict[str, Any]:
    body: dict[str, Any] = {"name": op.id, "status": op.status, "startTime": iso(op.start_time)}
    if style.status_result:
        body = {"id": request.path, **body, "resourceId": op.resource_id}
        body["percentComplete"] = 100.0 if op.finished else 0.0
    if op.end_time is not None:
        body["endTime"] = iso(op.end_time)
    if op.error is not None:
        body["error"] = error_detail(op.error)
    return body


def _operation(request: web.Request, style: LroStyle) -> Operation:
    check_subscription(request)
    op_id = request.match_info["operationId"]
    op = style.find(world_of(request), op_id)
    if op is None:
        raise ResourceNotFound(f"Operation '{op_id}' not found.")
    return op


def _result(request: web.Request, style: LroStyle) -> web.Response:
    """The Location URL: 202 while running; then 200 (the result's body if it has one), or
    the operation's error with its status."""
    op = _operation(request, style)
    if not op.finished:
        return web.Response(status=202, headers={"Location": str(request.url), **poll_headers(op)})
    if op.error is not None:
        return error_response(op.error)
    if style.render_result is not None and op.output is not None:
        return web.json_response(style.render_result(world_of(request), op))
    return web.Response(status=200)


def routes(style: LroStyle) -> list[Route]:
    """The status monitor and the operation result (Location) of one provider."""

    async def operation_status(request: web.Request) -> web.Response:
        if style.location_at_monitor and request.query.get("monitor", "").lower() == "true":
            return _result(request, style)
        op = _operation(request, style)
        headers = {} if op.finished else poll_headers(op)
        return web.json_response(render_status(request, op, style), headers=headers)

    async def operation_result(request: web.Request) -> web.Response:
        return _result(request, style)

    base = style.locations()
    monitor = Route("GET", f"{base}/{style.monitor}/{{operationId}}", operation_status)
    if style.location_at_monitor:
        return [monitor]
    return [monitor, Route("GET", f"{base}/operationResults/{{operationId}}", operation_result)]


ROUTES = [*routes(COMPUTE), *routes(CHAOS)]
