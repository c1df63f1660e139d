"""ARM conventions shared by every route module: the one rendering of errors, scope checks,
request bodies, paging and times. Long-running operations are in operations.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from emulator.models import World
from emulator.models.errors import (
    ArmError,
    AzureError,
    InvalidParameter,
    InvalidRequestContent,
    ResourceGroupNotFound,
    SubscriptionNotFound,
)
from emulator.routing import WORLD


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as ARM's ISO 8601 UTC timestamps."""
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def world(request: web.Request) -> World:
    return request.app[WORLD]


def error_detail(error: AzureError) -> dict[str, Any]:
    """`{"code", "message"[, "details"]}`: an error as ARM spells it (also inside operation
    statuses and Chaos Studio execution details)."""
    detail: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details():
        detail["details"] = error.details()
    return detail


def error_response(error: ArmError, headers: Mapping[str, str] | None = None) -> web.Response:
    """The ARM error answer. 404/409 never carry Retry-After (the SDK would retry them)."""
    return web.json_response(
        {"error": error_detail(error)}, status=error.status, headers=dict(headers or {})
    )


def base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def api_version(request: web.Request) -> str:
    return request.query.get("api-version", "")


def check_subscription(request: web.Request) -> None:
    sub = request.match_info["subscriptionId"]
    if sub.lower() != world(request).scale_set.subscription_id.lower():
        raise SubscriptionNotFound(f"The subscription '{sub}' could not be found.")


def check_scope(request: web.Request) -> str:
    """Subscription and resource group exist; returns the group name as requested."""
    check_subscription(request)
    group = request.match_info["resourceGroupName"]
    if not world(request).owns_group(group):
        raise ResourceGroupNotFound(f"Resource group '{group}' could not be found.")
    return group


async def json_body(request: web.Request, message: str) -> Any:
    """The request's JSON; InvalidRequestContent with `message` when it is not JSON."""
    try:
        return await request.json()
    except ValueError:
        raise InvalidRequestContent(message) from None


async def json_object(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; InvalidRequestContent otherwise."""
    message = "The request content is not a JSON object."
    body = await json_body(request, message)
    if not isinstance(body, dict):
        raise InvalidRequestContent(message)
    return body


def page(request: web.Request, items: list[Any], page_size: int) -> tuple[list[Any], str | None]:
    """One page of `items` from $skiptoken, and the absolute nextLink (carrying api-version)."""
    try:
        start = max(0, int(request.query.get("$skiptoken", "0")))
    except ValueError:
        raise InvalidParameter("The $skiptoken is not valid.") from None
    chunk = items[start : start + page_size]
    if start + page_size >= len(items):
        return chunk, None
    query = dict(request.query)
    query["$skiptoken"] = str(start + page_size)
    return chunk, str(request.url.with_query(query))


def paged(
    request: web.Request,
    items: list[Any],
    page_size: int,
    render: Callable[[Any], dict[str, Any]],
) -> web.Response:
    """`{"value": [...], "nextLink"?}` for one page of `items`, each rendered by `render`."""
    chunk, next_link = page(request, items, page_size)
    body: dict[str, Any] = {"value": [render(item) for item in chunk]}
    if next_link:
        body["nextLink"] = next_link
    return web.json_response(body)
