"""Compute's operation-status monitor (Azure-AsyncOperation) and operation results (Location)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.models import ArmError, Operation
from emulator.responses._arm import check_subscription, iso, poll_headers, world
from emulator.routing import Route

LOCATIONS = "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/locations/{location}"


def _operation(request: web.Request) -> Operation:
    check_subscription(request)
    op = world(request).operation(request.match_info["operationId"])
    if op is None:
        raise ArmError(
            404, "ResourceNotFound", f"Operation '{request.match_info['operationId']}' not found."
        )
    return op


def render_status(op: Operation) -> dict[str, Any]:
    body: dict[str, Any] = {"name": op.id, "status": op.status, "startTime": iso(op.start_time)}
    if op.end_time is not None:
        body["endTime"] = iso(op.end_time)
    if op.error_code:
        body["error"] = {"code": op.error_code, "message": op.error_message or ""}
    return body


async def operation_status(request: web.Request) -> web.Response:
    op = _operation(request)
    headers = {} if op.finished else poll_headers(op, with_retry_after=False)
    return web.json_response(render_status(op), headers=headers)


async def operation_result(request: web.Request) -> web.Response:
    op = _operation(request)
    if not op.finished:
        headers = {"Location": str(request.url), **poll_headers(op, with_retry_after=False)}
        return web.Response(status=202, headers=headers)
    return web.Response(status=204)


ROUTES = [
    Route("GET", LOCATIONS + "/operations/{operationId}", operation_status),
    Route("GET", LOCATIONS + "/operationResults/{operationId}", operation_result),
]
