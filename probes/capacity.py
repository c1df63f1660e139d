"""Capacity probe: the fleet's per-instance states on a fixed tick, as timeline rows.

The source is any callable returning instances with .name, .power_state, .health_state,
.running and .healthy — `fleet.inventory.Inventory(target).instances` in the harness (one list
call per tick). A failing sample (e.g. ARM throttling) is counted and skipped, never fatal: a
chaos run must not die because the control plane is having a bad minute.
"""

from __future__ import annotations

from typing import Any, Protocol

from probes.table_probe import TableProbe
from probes.timeline import CAPACITY_COLUMNS


class InstanceState(Protocol):
    name: str
    power_state: str | None
    health_state: str | None

    @property
    def running(self) -> bool: ...

    @property
    def healthy(self) -> bool: ...


class CapacityProbe(TableProbe[InstanceState]):
    """One VM listing per tick: a row per instance (power, health, running, healthy)."""

    name = "capacity-probe"
    columns = CAPACITY_COLUMNS

    def row(self, item: InstanceState, now: float) -> dict[str, Any]:
        return {
            "time": now,
            "instance": item.name,
            "power_state": item.power_state,
            "health_state": item.health_state,
            "running": bool(item.running),
            "healthy": bool(item.healthy),
        }

    def failed_listings(self) -> list[tuple[float, str]]:
        """(time, error) of each sample whose listing failed (a gap in the capacity curve)."""
        return self.failures()
