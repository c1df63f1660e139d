"""Routing probe: which instances the load balancer sends new flows to, on a fixed tick, as
timeline rows (time, instance, state "up" | "down", reason).

The source is any callable returning backends with .instance, .routed and .reason —
`fleet.load_balancer.LoadBalancerRouting(target).backends` in the harness (one health query of
the load balancer's rule per tick). Like the capacity probe, a failing query is counted and
skipped, never fatal. An instance the load balancer stops listing (a deleted VM) simply has no
row from then on; probes/phases.py reads that as "no longer routed".
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import pandas as pd

from probes.sampler import TickLoop, TickStats
from probes.timeline import ROUTING_COLUMNS, normalize

DEFAULT_TICK_S = 1.0
DEFAULT_MAX_DURATION_S = 3600.0


class BackendState(Protocol):
    @property
    def instance(self) -> str: ...

    @property
    def routed(self) -> bool: ...

    @property
    def reason(self) -> str | None: ...


class RoutingProbe:
    """Samples `source()` every `tick_s` in a thread; rows share their tick's time."""

    def __init__(
        self,
        source: Callable[[], Iterable[BackendState]],
        tick_s: float = DEFAULT_TICK_S,
        max_duration_s: float = DEFAULT_MAX_DURATION_S,
        max_ticks: int | None = None,
    ) -> None:
        self._source = source
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.errors: list[tuple[float, str]] = []
        self._loop = TickLoop(self.sample, tick_s, max_duration_s, "routing-probe", max_ticks)

    @property
    def tick_s(self) -> float:
        return self._loop.interval_s

    def tick_stats(self) -> TickStats:
        return self._loop.stats()

    def failed_queries(self) -> list[tuple[float, str]]:
        """(time, error) of each tick whose query failed (a gap in the routing table)."""
        with self._lock:
            return list(self.errors)

    def sample(self) -> None:
        """One tick: one query, a row per backend (its time: when the query was sent)."""
        now = time.time()
        try:
            backends = list(self._source())
        except Exception as exc:  # a failed query is data, not a crash
            with self._lock:
                self.errors.append((now, f"{type(exc).__name__}: {exc}"[:300]))
            return
        rows = [
            {
                "time": now,
                "instance": b.instance,
                "state": "up" if b.routed else "down",
                "reason": b.reason,
            }
            for b in backends
        ]
        with self._lock:
            self._rows.extend(rows)

    def start(self) -> RoutingProbe:
        self._loop.start()
        return self

    def stop(self) -> pd.DataFrame:
        self._loop.stop()
        return self.frame()

    def frame(self) -> pd.DataFrame:
        with self._lock:
            rows = list(self._rows)
        return normalize(pd.DataFrame.from_records(rows), ROUTING_COLUMNS, "time")

    def __enter__(self) -> RoutingProbe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self._loop.stop()
