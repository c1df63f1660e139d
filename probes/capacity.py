"""Capacity probe: the fleet's per-instance states on a fixed tick, as timeline rows.

The source is any callable returning instances with .name, .power_state, .health_state,
.running and .healthy — `fleet.inventory.Inventory(target).instances` in the harness (one list
call per tick). A failing sample (e.g. ARM throttling) is counted and skipped, never fatal: a
chaos run must not die because the control plane is having a bad minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import pandas as pd

from probes.sampler import TickLoop, TickStats
from probes.timeline import CAPACITY_COLUMNS, normalize

DEFAULT_TICK_S = 1.0
DEFAULT_MAX_DURATION_S = 3600.0


class InstanceState(Protocol):
    name: str
    power_state: str | None
    health_state: str | None

    @property
    def running(self) -> bool: ...

    @property
    def healthy(self) -> bool: ...


class CapacityProbe:
    """Samples `source()` every `tick_s` in a thread; rows share their tick's time."""

    def __init__(
        self,
        source: Callable[[], Iterable[InstanceState]],
        tick_s: float = DEFAULT_TICK_S,
        max_duration_s: float = DEFAULT_MAX_DURATION_S,
        max_ticks: int | None = None,
    ) -> None:
        self._source = source
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.errors: list[tuple[float, str]] = []
        self._loop = TickLoop(self.sample, tick_s, max_duration_s, "capacity-probe", max_ticks)

    @property
    def tick_s(self) -> float:
        return self._loop.interval_s

    def tick_stats(self) -> TickStats:
        return self._loop.stats()

    def failed_listings(self) -> list[tuple[float, str]]:
        """(time, error) of each sample whose listing failed (a gap in the capacity curve)."""
        with self._lock:
            return list(self.errors)

    def sample(self) -> None:
        """One tick: list the instances and record a row per instance."""
        now = time.time()
        try:
            instances = list(self._source())
        except Exception as exc:  # a failed sample is data, not a crash
            with self._lock:
                self.errors.append((now, f"{type(exc).__name__}: {exc}"[:300]))
            return
        rows = [
            {
                "time": now,
                "instance": i.name,
                "power_state": i.power_state,
                "health_state": i.health_state,
                "running": bool(i.running),
                "healthy": bool(i.healthy),
            }
            for i in instances
        ]
        with self._lock:
            self._rows.extend(rows)

    def start(self) -> CapacityProbe:
        self._loop.start()
        return self

    def stop(self) -> pd.DataFrame:
        self._loop.stop()
        return self.frame()

    def frame(self) -> pd.DataFrame:
        with self._lock:
            rows = list(self._rows)
        return normalize(pd.DataFrame.from_records(rows), CAPACITY_COLUMNS, "time")

    def __enter__(self) -> CapacityProbe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self._loop.stop()
