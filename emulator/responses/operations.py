"""Long-running operations, for Compute and Chaos Studio alike: the initial answer
(Azure-AsyncOperation, Location, polling hints), the status monitor and the operation result.

Each provider spells these slightly differently; an `LroStyle` holds the differences and
everything else is one rendering (docs/azure-behaviour.md §6, §5.3):
- Compute: monitor `…/Microsoft.Compute/locations/{loc}/operations/{id}`, body
  `{name, status, startTime, endTime?, error?}`; an action with nothing to do answers 200.
- Chaos: monitor `…/Microsoft.Chaos/locations/{loc}/operationStatuses/{id}`, body as
  OperationStatusResult (adds id, resourceId, percentComplete); start, cancel and delete
  always answer 202 (the only answer the SDK accepts for start and cancel).
- Network (the load balancer's health status, responses/lb_health.py): monitor
  `…/Microsoft.Network/locations/{loc}/operations/{id}`; its result has a body.
All: `…/locations/{loc}/operationResults/{id}` answers 202 while running, then 204 — or 200
with the result's body for an operation whose final state is read there (`render_result`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.models import Operation, World
from emulator.models.errors import ResourceNotFound
from emulator.responses._arm import api_version, base_url, check_subscription, error_detail, iso
from emulator.responses._arm import world as world_of
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
    # the body the operation result (Location) answers with 200 once done; None: 204, no body
    render_result: Callable[[World, Operation], dict[str, Any]] | None = None

    def locations(self) -> str:
        return f"/subscriptions/{{subscriptionId}}/providers/{self.provider}/locations/{{location}}"


COMPUTE = LroStyle(
    "Microsoft.Compute",
    "operations",
    lambda w, op_id: w.operation(op_id),
    status_result=False,
    ok_when_done=True,
)
CHAOS = LroStyle(
    "Microsoft.Chaos",
    "operationStatuses",
    lambda w, op_id: w.chaos.operations.get(op_id),
    status_result=True,
    ok_when_done=False,
)


def poll_headers(op: Operation, with_retry_after: bool = True) -> dict[str, str]:
    """Polling hints: retry-after-ms with the scaled wait, and an integer Retry-After >= 1.

    azure-core 1.41 reads Retry-After before retry-after-ms and polls once right after the
    initial answer, then waits for what the latest poll answer says. So the initial 202 carries
    both (the ARM contract: an integer Retry-After), while the status monitor's answers carry
    only retry-after-ms, which lets the SDK poll at the emulator's compressed pace.
    """
    remaining = op.remaining_wall()
    wait_ms = min(MAX_POLL_MS, max(MIN_POLL_MS, math.ceil(remaining * 1000) + 10))
    headers = {"retry-after-ms": str(wait_ms)}
    if with_retry_after:
        headers["Retry-After"] = str(max(1, math.ceil(remaining)))
    return headers


def operation_urls(request: web.Request, op: Operation, style: LroStyle) -> dict[str, str]:
    """Azure-AsyncOperation (the status monitor) and Location (the operation result)."""
    w = world_of(request)
    prefix = (
        f"{base_url(request)}/subscriptions/{w.scale_set.subscription_id}/providers/"
        f"{style.provider}/locations/{w.scale_set.location}"
    )
    query = f"?api-version={api_version(request)}"
    return {
        "Azure-AsyncOperation": f"{prefix}/{style.monitor}/{op.id}{query}",
        "Location": f"{prefix}/operationResults/{op.id}{query}",
    }


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


def routes(style: LroStyle) -> list[Route]:
    """The status monitor and the operation result of one provider."""

    async def operation_status(request: web.Request) -> web.Response:
        op = _operation(request, style)
        headers = {} if op.finished else poll_headers(op, with_retry_after=False)
        return web.json_response(render_status(request, op, style), headers=headers)

    async def operation_result(request: web.Request) -> web.Response:
        op = _operation(request, style)
        if not op.finished:
            headers = {"Location": str(request.url), **poll_headers(op, with_retry_after=False)}
            return web.Response(status=202, headers=headers)
        if style.render_result is not None and op.output is not None and op.error is None:
            return web.json_response(style.render_result(world_of(request), op))
        return web.Response(status=204)

    base = style.locations()
    return [
        Route("GET", f"{base}/{style.monitor}/{{operationId}}", operation_status),
        Route("GET", f"{base}/operationResults/{{operationId}}", operation_result),
    ]


ROUTES = [*routes(COMPUTE), *routes(CHAOS)]
