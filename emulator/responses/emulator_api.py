"""Emulator-only routes (no auth, outside /subscriptions): ready info, ground truth, request
log, control-plane faults and a VM's Scheduled Events (docs/internals.md)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.models.errors import InvalidRequestContent, ResourceNotFound
from emulator.responses._arm import world
from emulator.routing import FAULTS, READY_INFO, REQUEST_LOG, Route


async def ready_info(request: web.Request) -> web.Response:
    return web.json_response(request.app[READY_INFO])


async def truth(request: web.Request) -> web.Response:
    events = world(request).truth.events(
        kind=request.query.get("kind") or None, vm=request.query.get("vm") or None
    )
    return web.json_response({"events": [e.to_json() for e in events]})


CHAOS_ACTIONS = ("normal", "inert", "fail")  # how Chaos Studio actions behave


async def requests_log(request: web.Request) -> web.Response:
    return web.json_response(request.app[REQUEST_LOG].to_json())


async def control_faults(request: web.Request) -> web.Response:
    faults = request.app[FAULTS]
    try:
        body: Any = await request.json()
        faults.configure(
            float(body.get("rate_429", 0.0)),
            float(body.get("rate_5xx", 0.0)),
            float(body.get("latency_ms", 0.0)),
            float(body.get("listing_failure_rate", 0.0)),
        )
        actions = str(body.get("chaos_actions", "normal"))
        if actions not in CHAOS_ACTIONS:
            raise ValueError(f"chaos_actions must be one of {', '.join(CHAOS_ACTIONS)}")
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidRequestContent(f"control faults: {exc}") from None
    world(request).chaos.actions = actions
    return web.json_response({**faults.to_json(), "chaos_actions": actions})


async def scheduled_events(request: web.Request) -> web.Response:
    """IMDS-shaped Scheduled Events for one VM: a Preempt while a Spot eviction is pending."""
    name = request.match_info["vm"]
    vm = world(request).vm(name)
    if vm is None:
        raise ResourceNotFound(f"The VM '{name}' cannot be found.")
    events = []
    if vm.eviction_not_before is not None:
        events.append(
            {
                "EventId": f"preempt-{vm.vm_id}",
                "EventType": "Preempt",
                "ResourceType": "VirtualMachine",
                "Resources": [vm.name],
                "EventStatus": "Scheduled",
                "NotBefore": vm.eviction_not_before,
            }
        )
    return web.json_response({"DocumentIncarnation": len(events), "Events": events})


ROUTES = [
    Route("GET", "/_emulator", ready_info),
    Route("GET", "/_emulator/truth", truth),
    Route("GET", "/_emulator/requests", requests_log),
    Route("PUT", "/_emulator/control-faults", control_faults),
    Route("GET", "/_emulator/vms/{vm}/scheduledEvents", scheduled_events),
]
