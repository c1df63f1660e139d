"""The emulator process: an aiohttp application serving the ARM routes and the emulator-only
routes on 127.0.0.1, with the ARM middleware (auth, api-version, control-plane faults, request
log, errors rendered in ARM's shape), the data plane and automatic repairs started alongside.

Everything a handler needs hangs off the application (emulator/routing.py's keys): the world,
the data plane, the control faults, the request log. No module-level state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator import api_versions
from emulator.clock import Clock
from emulator.control_faults import ControlFaults
from emulator.dataplane import DataPlane
from emulator.identity import arm_auth
from emulator.identity import setup as azure_mode
from emulator.identity.setup import AzureModeOptions
from emulator.models import ArmError, World
from emulator.models.errors import (
    InternalServerError,
    InvalidResourceType,
    MethodNotAllowed,
    MissingApiVersionParameter,
    ServiceUnavailable,
    Throttled,
)
from emulator.models.throttling import Throttling
from emulator.repairs import AutomaticRepairs
from emulator.request_log import RequestLog
from emulator.responses._arm import error_response
from emulator.responses.throttling import throttled_answer
from emulator.routing import DATAPLANE, FAULTS, READY_INFO, REQUEST_LOG, THROTTLING, WORLD
from emulator.topology import Topology
from emulator.urls import all_routes

HOST = "127.0.0.1"
TOKEN = "emulator"
ARM_PREFIX = "/subscriptions"
log = logging.getLogger("emulator")


ORPHAN_CHECK_S = 0.5
VM_LIST_SUFFIX = "/providers/Microsoft.Compute/virtualMachines"  # a listing of the set's VMs
THROTTLED_BUDGET = "HighCostGet30Min"


@dataclass(frozen=True)
class ServerOptions:
    port: int = 0
    lb_port: int = 0
    time_scale: float = 0.05
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    latency_ms: float = 0.0
    seed: int | None = None
    parent_pid: int | None = None  # stop when this process is gone (a harness that died)
    azure_mode: AzureModeOptions | None = None  # HTTPS, Entra stand-in, tokens and RBAC checked


def _fault_response(status: int, time_scale: float) -> web.Response:
    wait_ms = str(max(10, round(1000 * time_scale)))
    headers = {"Retry-After": "1", "retry-after-ms": wait_ms}
    error: ArmError
    if status == 429:
        error = Throttled(
            "The server rejected the request because too many requests have been received "
            "for this subscription.",
            budget=THROTTLED_BUDGET,
            detail="Emulated throttling (control-plane fault).",
        )
        headers["x-ms-ratelimit-remaining-resource"] = f"Microsoft.Compute/{THROTTLED_BUDGET};0"
    elif status == 503:
        error = ServiceUnavailable("Emulated service unavailability.")
    else:
        error = InternalServerError("Emulated internal server error.")
    return error_response(error, headers)


async def _serve_arm(request: web.Request, handler: Any) -> web.StreamResponse:
    faults = request.app[FAULTS]
    if faults.latency_ms:
        await asyncio.sleep(faults.latency_ms / 1000)
    refused = arm_auth.check(request)  # the token (Azure mode) and role-based access
    if refused is not None:
        return error_response(refused.error, refused.headers)
    if "api-version" not in request.query:
        return error_response(
            MissingApiVersionParameter(
                "The api-version query parameter (?api-version=) is required for all requests."
            )
        )
    try:
        api_versions.check(
            request.path, request.query["api-version"], request.app[WORLD].scale_set.location
        )
    except ArmError as exc:
        return error_response(exc)
    client_id = request.headers.get("x-ms-client-request-id")
    listing = request.method == "GET" and request.path.endswith(VM_LIST_SUFFIX)
    if listing and faults.listing_fails(client_id):
        return _fault_response(500, request.app[WORLD].clock.time_scale)
    status = faults.decide(client_id)
    if status is not None:
        return _fault_response(status, request.app[WORLD].clock.time_scale)
    charge = request.app[THROTTLING].charge(request.method, _route(request), request.match_info)
    if charge.throttled is not None:  # Azure's budgets (emulator/models/throttling.py)
        return throttled_answer(charge, request.app[WORLD].clock)
    response = await _handle(request, handler)
    for name, value in charge.headers:
        response.headers[name] = value
    return response


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


async def _handle(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except ArmError as exc:
        return error_response(exc)
    except web.HTTPMethodNotAllowed:
        return error_response(MethodNotAllowed(f"The method {request.method} is not allowed here."))
    except web.HTTPNotFound:
        return error_response(InvalidResourceType(f"The emulator does not serve '{request.path}'."))
    except web.HTTPException:
        raise
    except Exception:
        traceback.print_exc(file=sys.stderr)
        return error_response(InternalServerError("The emulator failed."))


def _request_ids(request: web.Request, response: web.StreamResponse) -> None:
    """The ids ARM puts on every answer: its own `x-ms-request-id`, and the correlation id,
    the client's `x-ms-correlation-request-id` when it sent one (a new one otherwise); the
    client's `x-ms-client-request-id` is echoed (docs/azure-behaviour.md §6). A handler may
    have set the request id already (Compute's accepted operations use the operation id)."""
    response.headers.setdefault("x-ms-request-id", str(uuid.uuid4()))
    correlation = request.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4())
    response.headers["x-ms-correlation-request-id"] = correlation
    client_id = request.headers.get("x-ms-client-request-id")
    if client_id:
        response.headers["x-ms-client-request-id"] = client_id


@web.middleware
async def arm_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """ARM routes: auth, api-version, faults, errors in ARM shape, request ids, and the
    request log."""
    if not request.path.startswith(ARM_PREFIX):
        return await _handle(request, handler)
    response = await _serve_arm(request, handler)
    _request_ids(request, response)
    request.app[REQUEST_LOG].add(request.method, request.path, _route(request), response.status)
    return response


def build_app(world: World, faults: ControlFaults) -> web.Application:
    """The application and everything its handlers reach through it (the data plane is
    created here and started by serve())."""
    app = web.Application(middlewares=[arm_middleware], client_max_size=4 * 1024 * 1024)
    app[WORLD] = world
    app[DATAPLANE] = DataPlane(world)
    app[FAULTS] = faults
    app[REQUEST_LOG] = RequestLog()
    app[THROTTLING] = Throttling(world.clock, enabled=world.topology.throttling.enabled)
    app[READY_INFO] = {}
    for route in all_routes():
        app.router.add_route(route.method, route.path, route.handler)
    return app


async def serve(topology: Topology, options: ServerOptions) -> int:
    """Run until SIGINT/SIGTERM; print the ready JSON line once listening. Returns 0."""
    world = World(topology, Clock(options.time_scale), seed=options.seed)
    world.lb_port = options.lb_port
    faults = ControlFaults(options.rate_429, options.rate_5xx, options.latency_ms, options.seed)
    app = build_app(world, faults)
    ssl_context = None
    if options.azure_mode is not None:
        ssl_context = azure_mode.enable(app, world, options.azure_mode)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, HOST, options.port, backlog=1024, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    plane = app[DATAPLANE]
    repairs: AutomaticRepairs | None = None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    watchdog = (
        asyncio.create_task(_stop_when_orphaned(options.parent_pid, stop))
        if options.parent_pid
        else None
    )
    try:
        extra = await plane.start()
        repairs = AutomaticRepairs(world)
        repairs.start()
        s = world.scale_set
        info: dict[str, Any] = {
            "arm_url": f"{'https' if ssl_context else 'http'}://{HOST}:{port}",
            "lb_url": None,
            "subscription_id": s.subscription_id,
            "resource_group": s.resource_group,
            "scale_set": s.name,
            "load_balancer": s.load_balancer.name,
            "location": s.location,
            "time_scale": options.time_scale,
            "token": TOKEN,
            "pid": os.getpid(),
            **extra,
        }
        if options.azure_mode is not None:
            info.update(azure_mode.ready_details(app, options.azure_mode, port))
        app[READY_INFO].update(info)
        print(json.dumps(info), flush=True)
        await stop.wait()
    finally:
        if watchdog is not None:
            watchdog.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        try:
            if repairs is not None:
                await repairs.stop()
            await plane.stop()
        except Exception:
            traceback.print_exc(file=sys.stderr)
        await world.close()
        await runner.cleanup()
    return 0


async def _stop_when_orphaned(parent_pid: int, stop: asyncio.Event) -> None:
    """A harness killed with SIGKILL cannot stop its emulator: notice and stop by ourselves."""
    while not stop.is_set():
        if os.getppid() != parent_pid:
            stop.set()
            return
        await asyncio.sleep(ORPHAN_CHECK_S)
