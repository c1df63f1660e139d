"""The emulator's data plane: VM apps, the layer-4 load balancer with its probes, the
Application Health extension and automatic repairs (docs/emulator-data-plane.md).

The control-plane server calls `start(world)` once it listens and `stop()` on shutdown; the
route table picks up `ROUTES` (emulator/urls.py).
"""

from __future__ import annotations

from typing import Any

from emulator.dataplane import state
from emulator.dataplane.routes import ROUTES
from emulator.models import World

__all__ = ["ROUTES", "start", "stop"]

_repairs: Any = None


async def start(world: World) -> dict[str, Any]:
    """Serve every running VM, start the load balancer and automatic repairs; returns the
    keys the ready line gains ({"lb_url": "http://127.0.0.1:PORT"})."""
    global _repairs
    from emulator.dataplane.plane import DataPlane
    from emulator.repairs import AutomaticRepairs

    plane = DataPlane(world)
    state.current = plane
    info = await plane.start()
    _repairs = AutomaticRepairs(world)
    _repairs.start()
    return info


async def stop() -> None:
    """Stop repairs, probes, the load balancer and every app."""
    global _repairs
    if _repairs is not None:
        await _repairs.stop()
        _repairs = None
    if state.current is not None:
        await state.current.stop()
        state.current = None
