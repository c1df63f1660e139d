"""Wall-clock watch: was the machine's wall clock stepped while the experiment ran?

Every source of the timeline stamps with the wall clock (epoch seconds): Locust's requests in
their own process, the probes' samples, the fault's events, the emulator's truth. A step of that
clock (a time-sync service correcting it, a VM resumed with its clock set right) moves every
stamp after it by the step, and nothing in the timeline can tell: a forward step reads as a hole
in every source at once (seen once in 100 accuracy-bench trials: 3.1 s), a backward step as
samples that overlap — which can shorten a measured failover. The monotonic clock is never
stepped, and time-sync slewing moves both clocks alike, so `time.time() − time.monotonic()`
stays constant unless the wall clock steps. The watch samples that offset on a tick; a change
beyond the noise floor is a step. `step_gap` turns the steps into the reason every figure of the
run is not judged (probes/metrics.py): a gate must not pass on time stamps it cannot trust.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from probes.sampler import TickLoop, TickStats

NOISE_S = 0.005  # offset changes below this are reading noise, not a step
TICK_S = 0.1  # wall seconds between offset readings
# Steps adding up to more than this share of one probe interval leave every figure not judged:
# the accuracy the harness holds itself to is a fifth of an interval (bench/bench_failover_
# accuracy.py); a tenth keeps a step from eating half of that unseen.
TOLERANCE_SHARE_OF_PROBE_INTERVAL = 0.1
_TRIES = 5  # readings taken for one offset; the one least disturbed by preemption is kept


@dataclass(frozen=True)
class ClockStep:
    """One step of the wall clock: when it was seen (epoch, after the step) and by how much
    (wall seconds; positive: the clock jumped forward)."""

    time: float
    step_s: float


def read_offset() -> float:
    """`time.time() − time.monotonic()`, read between two monotonic readings: of a few tries,
    the one with the shortest bracket (a thread preempted mid-reading would otherwise show a
    false step of the preemption's length)."""
    best_offset, best_bracket = 0.0, float("inf")
    for _ in range(_TRIES):
        before = time.monotonic()
        wall = time.time()
        after = time.monotonic()
        if after - before < best_bracket:
            best_offset, best_bracket = wall - (before + after) / 2, after - before
        if best_bracket < 0.001:
            break
    return best_offset


class WallClockWatch:
    """Samples the wall clock's offset from the monotonic clock every `tick_s` wall seconds
    (bounded by `max_duration_s`) and records every step; `offset` is the reading (injectable
    for tests that cannot step the machine's clock)."""

    name = "wall-clock-watch"

    def __init__(
        self,
        *,
        max_duration_s: float,
        tick_s: float = TICK_S,
        offset: Callable[[], float] = read_offset,
    ) -> None:
        self._offset = offset
        self._lock = threading.Lock()
        self._last = offset()
        self._steps: list[ClockStep] = []
        self._loop = TickLoop(self.check, tick_s, max_duration_s, self.name)

    def check(self) -> None:
        """One reading: a change from the previous one beyond the noise floor is a step."""
        with self._lock:
            now = self._offset()
            if abs(now - self._last) > NOISE_S:
                self._steps.append(ClockStep(time.time(), now - self._last))
            self._last = now

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        """Stops the loop and takes one last reading (a step after the last tick counts)."""
        self._loop.stop()
        self.check()

    @property
    def steps(self) -> tuple[ClockStep, ...]:
        with self._lock:
            return tuple(self._steps)

    def tick_stats(self) -> TickStats:
        return self._loop.stats()


def step_gap(steps: Sequence[ClockStep], tolerance_s: float) -> str | None:
    """Why no figure can be judged when the steps add up to more than `tolerance_s` wall
    seconds; None when they do not."""
    total = sum(abs(s.step_s) for s in steps)
    if total <= tolerance_s:
        return None
    biggest = max(steps, key=lambda s: abs(s.step_s))
    stamp = time.strftime("%H:%M:%S", time.gmtime(biggest.time))
    what = "step" if len(steps) == 1 else f"{len(steps)} steps, the largest"
    return (
        f"the machine's wall clock was stepped during the run ({what} {biggest.step_s:+.2f} s "
        f"wall at {stamp}Z; more than {tolerance_s:.3f} s): every time stamp after it is off "
        "by that much — check the machine's time sync and run again"
    )


def describe(steps: Sequence[ClockStep]) -> str:
    """One line for the report's sampling-resolution attachment."""
    if not steps:
        return "not stepped during the run (its offset from the monotonic clock held)"
    listed = ", ".join(
        f"{s.step_s:+.3f} s at {time.strftime('%H:%M:%S', time.gmtime(s.time))}Z" for s in steps
    )
    return f"stepped {len(steps)} time(s): {listed}"
