"""Emulator-only routes of the data plane (no auth, outside /subscriptions; docs/internals.md):
`POST /_emulator/vms/{vm}/app {"healthy": bool}`, `GET /_emulator/vms/{vm}/app` and
`GET /_emulator/lb`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.dataplane.load_balancer import LoadBalancer
from emulator.models.errors import DataPlaneNotRunning, InvalidRequestContent, ResourceNotFound
from emulator.responses._arm import json_body, world
from emulator.routing import DATAPLANE, Route


async def set_app_health(request: web.Request) -> web.Response:
    """Make a VM's app answer /health with 503 (healthy=false) or 200 (healthy=true)."""
    name = request.match_info["vm"]
    vm = world(request).vm(name)
    if vm is None:
        raise ResourceNotFound(f"The VM '{name}' cannot be found.")
    example = 'Send a JSON body like {"healthy": false}.'
    body: Any = await json_body(request, example)
    if not isinstance(body, dict) or not isinstance(body.get("healthy"), bool):
        raise InvalidRequestContent(example)
    return web.json_response(request.app[DATAPLANE].set_app_health(vm.name, body["healthy"]))


async def app_state(request: web.Request) -> web.Response:
    """A VM's app: whether it serves, is healthy, and its open connections and requests."""
    name = request.match_info["vm"]
    if world(request).vm(name) is None:
        raise ResourceNotFound(f"The VM '{name}' cannot be found.")
    return web.json_response(request.app[DATAPLANE].app_state(name))


def _load_balancer(request: web.Request) -> LoadBalancer:
    lb = request.app[DATAPLANE].lb
    if lb is None:
        raise DataPlaneNotRunning("The load balancer has not started yet.")
    return lb


async def load_balancer(request: web.Request) -> web.Response:
    """Relays and failed relays, in total and per backend, with each backend's probe state."""
    return web.json_response(_load_balancer(request).snapshot())


ROUTES = [
    Route("POST", "/_emulator/vms/{vm}/app", set_app_health),
    Route("GET", "/_emulator/vms/{vm}/app", app_state),
    Route("GET", "/_emulator/lb", load_balancer),
]
