"""A bounded background loop on a fixed tick, shared by the capacity and traffic probes.

Ticks are scheduled on the monotonic clock from the start (no drift); a tick that runs late is
not made up with a burst. The loop ends at stop(), at its duration bound, or after max_ticks.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flexchaos.errors import FlexchaosError


@dataclass(frozen=True)
class TickStats:
    """How a loop kept its schedule: ticks run and ticks missed because one overran (a late
    tick is a gap in the samples: the figures built on them are coarser there)."""

    loop: str
    interval_s: float
    ticks: int
    late_ticks: int


class TickLoop:
    """Runs `tick()` every `interval_s` in a daemon thread until stopped or bounded out."""

    def __init__(
        self,
        tick: Callable[[], None],
        interval_s: float,
        max_duration_s: float,
        name: str,
        max_ticks: int | None = None,
    ) -> None:
        if not interval_s > 0:
            raise FlexchaosError(f"{name}: interval must be > 0 s, got {interval_s}")
        if not max_duration_s > 0:
            raise FlexchaosError(f"{name}: max duration must be > 0 s, got {max_duration_s}")
        self._tick = tick
        self.name = name
        self.interval_s = interval_s
        self.max_duration_s = max_duration_s
        self.max_ticks = max_ticks
        self.ticks = 0
        self.late_ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        begin = time.monotonic()
        deadline = begin + self.max_duration_s
        next_at = begin
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= deadline or (self.max_ticks is not None and self.ticks >= self.max_ticks):
                return
            if now < next_at:
                self._stop.wait(min(next_at, deadline) - now)
                continue
            self._tick()
            self.ticks += 1
            next_at += self.interval_s
            if time.monotonic() > next_at:  # overran: skip missed ticks, keep the grid
                missed = int((time.monotonic() - next_at) / self.interval_s) + 1
                self.late_ticks += missed
                next_at += missed * self.interval_s

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def stats(self) -> TickStats:
        return TickStats(self.name, self.interval_s, self.ticks, self.late_ticks)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
