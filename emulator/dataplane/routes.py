"""Emulator-only routes of the data plane (no auth, outside /subscriptions; docs/internals.md):
`POST /_emulator/vms/{vm}/app {"healthy": bool}` and `GET /_emulator/lb`."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.dataplane import state
from emulator.models import ArmError
from emulator.responses._arm import world
from emulator.routing import Route


def _plane() -> Any:
    plane = state.current
    if plane is None:
        raise ArmError(503, "DataPlaneNotRunning", "The data plane has not started yet.")
    return plane


async def set_app_health(request: web.Request) -> web.Response:
    """Make a VM's app answer /health with 503 (healthy=false) or 200 (healthy=true)."""
    name = request.match_info["vm"]
    vm = world(request).vm(name)
    if vm is None:
        raise ArmError(404, "ResourceNotFound", f"The VM '{name}' cannot be found.")
    try:
        body: Any = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("healthy"), bool):
        raise ArmError(400, "InvalidRequestContent", 'Send a JSON body like {"healthy": false}.')
    return web.json_response(_plane().set_app_health(vm.name, body["healthy"]))


async def load_balancer(request: web.Request) -> web.Response:
    """Relays and failed relays, in total and per backend, with each backend's probe state."""
    lb = _plane().lb
    if lb is None:
        raise ArmError(503, "DataPlaneNotRunning", "The load balancer has not started yet.")
    return web.json_response(lb.snapshot())


ROUTES = [
    Route("POST", "/_emulator/vms/{vm}/app", set_app_health),
    Route("GET", "/_emulator/lb", load_balancer),
]
