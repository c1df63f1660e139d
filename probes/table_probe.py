"""A probe that turns one read of the fleet per tick into timeline rows: the shared machinery
of the capacity probe (VM listings) and the routing probe (the load balancer's health).

Each tick calls `source()` once and stamps every row with the time the answer describes: the
source's own `time` when it has one (fleet's `Stamped`: the middle of the read's last attempt,
so a read the SDK retried after a 429 or a 5xx is not dated back to its first send), else the
time the read returned. A read that fails is data (its time and error), never fatal: a chaos
run must not die because the control plane is having a bad minute. The loop is bounded
(probes/sampler.py).

Rows are kept column by column, strings interned: a 1000-VM run samples a million rows or more
(the routing probe reads 1000 backends a platform second), and a dict per row took the harness
to 1.2 GB. The hot paths (abort checks, recovery wait, live progress) read `latest()`, the last
read's rows, never the whole table.
"""

from __future__ import annotations

import sys
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
        self._data: dict[str, list[Any]] = {name: [] for name in self.columns}
        self._size = 0
        self._last_read = 0  # index of the first row of the latest read
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
            for name, column in self._data.items():
                column.extend(_interned(row.get(name)) for row in rows)
            self._last_read = self._size
            self._size += len(rows)

    def start(self) -> Self:
        self._loop.start()
        return self

    def stop(self) -> pd.DataFrame:
        self._loop.stop()
        return self.frame()

    def frame(self) -> pd.DataFrame:
        """Every row so far, in the schema's columns and types, by time."""
        return self._frame(0)

    def latest(self) -> pd.DataFrame:
        """The rows of the latest successful read only (empty before the first)."""
        return self._frame(self._last_read)

    def _frame(self, first: int) -> pd.DataFrame:
        with self._lock:
            data = {name: column[first : self._size] for name, column in self._data.items()}
        return normalize(pd.DataFrame(data) if self._size > first else None, self.columns, "time")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self._loop.stop()


def _interned(value: Any) -> Any:
    """A string shared with every equal one already kept (VM names, states, reasons)."""
    return sys.intern(value) if type(value) is str else value
