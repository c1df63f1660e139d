"""Live progress of an experiment: phase, elapsed, capacity, requests/s and errors.

Counts come from the per-request logs as they grow (Locust's and the traffic probe's), read
incrementally once a tick, and from the capacity probe's last sample; nothing here is used for
the verdict, which is computed from the complete timeline afterwards.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from probes.measures import Clock

PROGRESS_INTERVAL_S = 1.0
# The lifecycle's steps under the phase names the chart and the metrics use (Timeline.phases():
# baseline until the injection, fault until the revert, recovery after it).
PHASES = {"inject": "fault", "hold": "fault", "revert": "recovery", "recover": "recovery"}


class RequestLogTail:
    """Counts new ok/failed requests appended to JSON-lines logs since the last read."""

    def __init__(self, files: Callable[[], list[Path]]) -> None:
        self._files = files
        self._offsets: dict[Path, int] = {}

    def read(self) -> tuple[int, int]:
        ok = failed = 0
        for path in self._files():
            offset = self._offsets.get(path, 0)
            try:
                with path.open("rb") as handle:
                    handle.seek(offset)
                    chunk = handle.read()
            except OSError:
                continue
            complete = chunk.rfind(b"\n") + 1
            self._offsets[path] = offset + complete
            for line in chunk[:complete].splitlines():
                try:
                    if json.loads(line).get("ok"):
                        ok += 1
                    else:
                        failed += 1
                except ValueError:
                    continue
        return ok, failed


class Progress:
    """Prints one line per interval while an experiment runs (in a daemon thread)."""

    def __init__(
        self,
        name: str,
        write: Callable[[str], None],
        tail: RequestLogTail,
        capacity: Callable[[], pd.DataFrame],
        probe_requests: Callable[[], pd.DataFrame],
        time_scale: float,
    ) -> None:
        self.name = name
        self.phase = "preflight"
        self._write = write
        self._tail = tail
        self._capacity = capacity
        self._probe = probe_requests
        self._clock = Clock(time_scale)
        self._start = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
        self._probe_seen = 0
        self._last_tick = time.monotonic()
        self._lock = threading.Lock()

    def start(self) -> Progress:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def set_phase(self, phase: str) -> None:
        """Say the phase changed, without a rate: a count over the fraction of a second since
        the last tick would print a fake dip (or spike) in requests/s at every phase change.
        The next regular tick counts those requests over its whole interval."""
        step = f" ({phase})" if phase in PHASES else ""
        try:
            with self._lock:  # the change is said before any line under the new name
                self.phase = PHASES.get(phase, phase)
                wall = time.monotonic() - self._start
                self._write(
                    f"  [{self.name}] → {self.phase + step:<19} {wall:6.1f} s wall "
                    f"({self._clock.platform(wall):7.0f} s platform)  {self._capacity_text()}"
                )
        except Exception as exc:  # progress must never break an experiment
            self._write(f"  [{self.name}] progress unavailable: {exc}")

    def tick(self) -> None:
        with self._lock:  # the progress thread and set_phase both tick
            self._tick()

    def _tick(self) -> None:
        ok, failed = self._tail.read()
        probe = self._probe()
        new = probe.iloc[self._probe_seen :]
        self._probe_seen = len(probe)
        ok += int(new["ok"].sum()) if not new.empty else 0
        failed += int((~new["ok"].astype(bool)).sum()) if not new.empty else 0
        self._write(self.line(ok, failed))

    def line(self, ok: int, failed: int) -> str:
        wall = time.monotonic() - self._start
        cap = self._capacity_text()
        now = time.monotonic()
        rate = (ok + failed) / max(now - self._last_tick, 1e-3)
        self._last_tick = now
        return (
            f"  [{self.name}] {self.phase:<21} {wall:6.1f} s wall "
            f"({self._clock.platform(wall):7.0f} s platform)  {cap}  "
            f"{rate:6.0f} req/s  {failed:4d} errors"
        )

    def _capacity_text(self) -> str:
        capacity = self._capacity()
        if capacity.empty:
            return "capacity -"
        last = capacity[capacity["time"] == capacity["time"].max()]
        return f"healthy {int(last['healthy'].sum())}/{len(last)}"

    def _run(self) -> None:
        while not self._stop.wait(PROGRESS_INTERVAL_S):
            try:
                self.tick()
            except Exception as exc:  # progress must never break an experiment
                self._write(f"  [{self.name}] progress unavailable: {exc}")
                return
