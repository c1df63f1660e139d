"""ARM conventions shared by every route module: errors, long-running operations, paging, times."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from emulator.models import ArmError, Operation, World
from emulator.routing import WORLD

MIN_POLL_MS = 20
MAX_POLL_MS = 1000


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as ARM's ISO 8601 UTC timestamps."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def world(request: web.Request) -> World:
    return request.app[WORLD]


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def error_response(error: ArmError) -> web.Response:
    """The ARM error shape; never with Retry-After (the SDK would retry a 404/409)."""
    return web.json_response(error_body(error.code, error.message), status=error.status)


def base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def api_version(request: web.Request) -> str:
    return request.query.get("api-version", "")


def check_subscription(request: web.Request) -> None:
    sub = request.match_info["subscriptionId"]
    if sub.lower() != world(request).scale_set.subscription_id.lower():
        raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")


def check_scope(request: web.Request) -> str:
    """Subscription and resource group exist; returns the group name as requested."""
    check_subscription(request)
    group = request.match_info["resourceGroupName"]
    if not world(request).owns_group(group):
        raise ArmError(
            404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found."
        )
    return group


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


def operation_urls(request: web.Request, op: Operation) -> dict[str, str]:
    w = world(request)
    prefix = (
        f"{base_url(request)}/subscriptions/{w.scale_set.subscription_id}/providers/"
        f"Microsoft.Compute/locations/{w.scale_set.location}"
    )
    query = f"?api-version={api_version(request)}"
    return {
        "Azure-AsyncOperation": f"{prefix}/operations/{op.id}{query}",
        "Location": f"{prefix}/operationResults/{op.id}{query}",
    }


def accepted(
    request: web.Request,
    op: Operation,
    status: int = 202,
    body: dict[str, Any] | None = None,
    location: bool = True,
) -> web.Response:
    """The initial answer of a long-running operation (200 with no headers if already done)."""
    if op.finished and body is None:
        return web.Response(status=200)
    headers = {**operation_urls(request, op), **poll_headers(op)}
    if not location:
        headers.pop("Location")
    if body is None:
        return web.Response(status=status, headers=headers)
    return web.json_response(body, status=status, headers=headers)


def page(request: web.Request, items: list[Any], page_size: int) -> tuple[list[Any], str | None]:
    """One page of `items` from $skiptoken, and the absolute nextLink (carrying api-version)."""
    try:
        start = max(0, int(request.query.get("$skiptoken", "0")))
    except ValueError:
        raise ArmError(400, "InvalidParameter", "The $skiptoken is not valid.") from None
    chunk = items[start : start + page_size]
    if start + page_size >= len(items):
        return chunk, None
    query = dict(request.query)
    query["$skiptoken"] = str(start + page_size)
    return chunk, str(request.url.with_query(query))
