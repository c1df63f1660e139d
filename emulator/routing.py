"""What a route module provides, and the application keys handlers use to reach shared state.

A route module (emulator/responses/<area>.py, or emulator/dataplane/routes.py) exposes
`ROUTES: list[Route]`; emulator/urls.py collects them. Handlers are plain aiohttp handlers and
find the process's state through the application, never through module globals: the world
with `request.app[WORLD]`, the data plane with `request.app[DATAPLANE]`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.control_faults import ControlFaults
from emulator.dataplane.plane import DataPlane
from emulator.models import World
from emulator.models.throttling import Throttling
from emulator.request_log import RequestLog

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

WORLD = web.AppKey("world", World)
DATAPLANE = web.AppKey("dataplane", DataPlane)
READY_INFO = web.AppKey("ready_info", dict[str, Any])
FAULTS = web.AppKey("control_faults", ControlFaults)
REQUEST_LOG = web.AppKey("request_log", RequestLog)
THROTTLING = web.AppKey("throttling", Throttling)


@dataclass(frozen=True)
class Route:
    """One HTTP route: method, aiohttp path template ({name} placeholders) and handler."""

    method: str
    path: str
    handler: Handler
