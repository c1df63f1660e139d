"""A probe that turns one read of the fleet per tick into timeline rows: the shared machinery
of the capacity probe (VM listings) and the routing probe (the load balancer's health).

Each tick calls `source()` once and stamps every row with the time the answer describes: the
source's own `time` when it has one (fleet's `Stamped`: the middle of the read's last attempt,
so a read the SDK retried after a 429 or a 5xx is not dated back to its first send), else the
time the read returned. A read that fails is data (its time and error), never fatal: a chaos
run must not die because the control plane is having a bad minute. The loop is bounded
(probes/sampler.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar, Generic, Self, TypeVar

import pandas as pd

from probes.sampler import TickLoop, TickStats
from probes.timeline import normalize

DEFAULT_TICK_S = 1.0
DEFAULT_MAX_DURATION_S = 3600.0
Item = TypeVar("Item")


class TableProbe(Generic[Item]):
    """Samples `source()` every `tick_s` in a thread; rows share their tick's time."""

    name: ClassVar[str] = "probe"
    columns: ClassVar[Mapping[str, str]] = {}

    def __init__(
        self,
        source: Callable[[], Iterable[Item]],
        tick_s: float = DEFAULT_TICK_S,
        max_duration_s: float = DEFAULT_MAX_DURATION_S,
        max_ticks: int | None = None,
    ) -> None:
        self._source = source
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.errors: list[tuple[float, str]] = []
        self._loop = TickLoop(self.sample, tick_s, max_duration_s, self.name, max_ticks)

    def row(self, item: Item, now: float) -> dict[str, Any]:
        """One timeline row for one item of a read."""
        raise NotImplementedError

    @property
    def tick_s(self) -> float:
        return self._loop.interval_s

    @property
    def running(self) -> bool:
        return self._loop.alive

    def tick_stats(self) -> TickStats:
        return self._loop.stats()

    def failures(self) -> list[tuple[float, str]]:
        """(time, error) of each tick whose read failed: a gap in this probe's table."""
        with self._lock:
            return list(self.errors)

    def sample(self) -> None:
        """One tick: one read, a row per item (its time: the time the answer describes)."""
        try:
            result = self._source()
            items = list(result)
        except Exception as exc:  # a failed read is data, not a crash
            with self._lock:
                self.errors.append((time.time(), f"{type(exc).__name__}: {exc}"[:300]))
            return
        described = getattr(result, "time", None)  # a source that knows (fleet's Stamped)
        now = float(described) if described is not None else time.time()
        rows = [self.row(item, now) for item in items]
        with self._lock:
            self._rows.extend(rows)

    def start(self) -> Self:
        self._loop.start()
        return self

    def stop(self) -> pd.DataFrame:
        self._loop.stop()
        return self.frame()

    def frame(self) -> pd.DataFrame:
        with self._lock:
            rows = list(self._rows)
        return normalize(pd.DataFrame.from_records(rows), self.columns, "time")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self._loop.stop()
