"""The timeline: every request, capacity sample and fault event of a run, on one clock.

Three pandas tables, times in epoch float seconds (`time.time()` in every process, which is the
emulator's ground-truth clock too):
- requests: start, latency_ms, ok, status, served_by, error, source ("locust" | "probe")
- capacity: time, instance, power_state, health_state, running, healthy (one row per instance
  per probe tick; all rows of a tick share its time)
- events:   time, kind, fault, vm, detail (kinds: inject, accepted (one per VM), injected,
  revert, reverted, abort, recovered, not_recovered (the recovery limit passed), phase — detail
  of a phase event is the phase name)
- routing:  time, instance, state ("up" | "down"), reason (the load balancer's per-backend
  health, one row per backend per routing-probe tick; empty when the fleet has no load balancer)
Phases (baseline, fault, recovery) come from the events; see Timeline.phases().
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

REQUEST_COLUMNS: dict[str, str] = {
    "start": "float64",
    "latency_ms": "float64",
    "ok": "bool",
    "status": "int64",
    "served_by": "string",
    "error": "string",
    "source": "string",
}
CAPACITY_COLUMNS: dict[str, str] = {
    "time": "float64",
    "instance": "string",
    "power_state": "string",
    "health_state": "string",
    "running": "bool",
    "healthy": "bool",
}
EVENT_COLUMNS: dict[str, str] = {
    "time": "float64",
    "kind": "string",
    "fault": "string",
    "vm": "string",
    "detail": "string",
}
ROUTING_COLUMNS: dict[str, str] = {
    "time": "float64",
    "instance": "string",
    "state": "string",
    "reason": "string",
}
PHASES = ("baseline", "fault", "recovery")
_TABLE_FILES = {
    "requests": "requests.jsonl",
    "capacity": "capacity.jsonl",
    "events": "events.jsonl",
    "routing": "routing.jsonl",
}


def normalize(frame: pd.DataFrame | None, columns: Mapping[str, str], sort_by: str) -> pd.DataFrame:
    """The frame with exactly the schema's columns and dtypes, sorted by time."""
    if frame is None or frame.empty:
        return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})
    missing_required = [c for c in (sort_by,) if c not in frame.columns]
    if missing_required:
        raise ValueError(f"timeline table lacks its time column {missing_required[0]!r}")
    out = pd.DataFrame(index=frame.index)
    for name, dtype in columns.items():
        if name in frame.columns:
            column = frame[name]
        else:
            column = pd.Series(pd.NA if dtype == "string" else 0, index=frame.index)
        if dtype == "string":
            column = column.astype("object").where(column.notna(), None).astype("string")
        elif dtype == "bool":
            column = column.fillna(False).astype(bool)
        elif dtype == "int64":
            column = pd.to_numeric(column, errors="coerce").fillna(0).astype("int64")
        else:
            column = pd.to_numeric(column, errors="coerce").astype(dtype)
        out[name] = column
    return out.sort_values(sort_by, kind="stable").reset_index(drop=True)


def _read_jsonl(path: Path) -> pd.DataFrame:
    """One JSON-lines file; a torn last line (a killed writer) is dropped, not fatal."""
    if path.stat().st_size == 0:
        return pd.DataFrame()
    try:
        return pd.read_json(path, lines=True, dtype=False)
    except ValueError:
        records = []
        for line in path.read_text(errors="replace").splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return pd.DataFrame.from_records(records)


def _files(paths: Path | str | Iterable[Path | str]) -> list[Path]:
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    files: list[Path] = []
    for item in map(Path, items):
        files.extend(sorted(item.glob("*.jsonl")) if item.is_dir() else [item])
    return files


def load_jsonl(paths: Path | str | Iterable[Path | str]) -> pd.DataFrame:
    """Concatenate JSON-lines files (a directory means every *.jsonl in it)."""
    frames = [f for f in (_read_jsonl(p) for p in _files(paths)) if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load_requests(paths: Path | str | Iterable[Path | str]) -> pd.DataFrame:
    """Merge per-process request logs (Locust workers, the traffic probe) into one table."""
    return normalize(load_jsonl(paths), REQUEST_COLUMNS, "start")


@dataclass(frozen=True)
class Phase:
    """A named stretch of the run: [start, end) in epoch seconds (end may be +inf)."""

    name: str
    start: float
    end: float


@dataclass(frozen=True)
class Timeline:
    """Requests, capacity samples, events and routing samples of one run, normalized to the
    schemas above."""

    requests: pd.DataFrame
    capacity: pd.DataFrame
    events: pd.DataFrame
    routing: pd.DataFrame = field(default_factory=lambda: normalize(None, ROUTING_COLUMNS, "time"))

    @classmethod
    def build(
        cls,
        requests: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
        capacity: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
        events: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
        routing: pd.DataFrame | Sequence[Mapping[str, Any]] | None = None,
    ) -> Timeline:
        def frame(data: pd.DataFrame | Sequence[Mapping[str, Any]] | None) -> pd.DataFrame | None:
            if data is None or isinstance(data, pd.DataFrame):
                return data
            return pd.DataFrame.from_records(list(data))

        return cls(
            requests=normalize(frame(requests), REQUEST_COLUMNS, "start"),
            capacity=normalize(frame(capacity), CAPACITY_COLUMNS, "time"),
            events=normalize(frame(events), EVENT_COLUMNS, "time"),
            routing=normalize(frame(routing), ROUTING_COLUMNS, "time"),
        )

    # -- time -----------------------------------------------------------------------------------
    def span(self) -> tuple[float, float] | None:
        """(first, last) time seen in any table; a request ends at start + latency."""
        starts, ends = [], []
        if not self.requests.empty:
            starts.append(float(self.requests["start"].min()))
            ends.append(float((self.requests["start"] + self.requests["latency_ms"] / 1000).max()))
        for table in (self.capacity, self.events):
            if not table.empty:
                starts.append(float(table["time"].min()))
                ends.append(float(table["time"].max()))
        return (min(starts), max(ends)) if starts else None

    def event_times(self, *kinds: str) -> list[float]:
        rows = self.events[self.events["kind"].isin(kinds)]
        return [float(t) for t in rows["time"]]

    def first_event(self, *kinds: str) -> float | None:
        """Time of the first event of the first kind present (kinds in order of preference)."""
        for kind in kinds:
            times = self.event_times(kind)
            if times:
                return min(times)
        return None

    def injections(self) -> list[float]:
        """Injection times: `inject` (the call was sent) if recorded, else `injected`."""
        return self.event_times("inject") or self.event_times("injected")

    def phases(self) -> list[Phase]:
        """Explicit `phase` events if any (each lasts until the next; before the first: none);
        otherwise baseline until the first injection, fault until the first revert, recovery
        after it (no revert: the fault phase lasts to the end)."""
        marks = self.events[self.events["kind"] == "phase"]
        if not marks.empty:
            times = [float(t) for t in marks["time"]] + [math.inf]
            names = [str(d) for d in marks["detail"]]
            return [Phase(n, times[i], times[i + 1]) for i, n in enumerate(names)]
        inject = min(self.injections(), default=None)
        if inject is None:
            return [Phase("baseline", -math.inf, math.inf)]
        revert = self.first_event("revert", "reverted")
        phases = [Phase("baseline", -math.inf, inject)]
        if revert is None or revert < inject:
            return [*phases, Phase("fault", inject, math.inf)]
        return [*phases, Phase("fault", inject, revert), Phase("recovery", revert, math.inf)]

    def phase_labels(self, times: pd.Series) -> pd.Series:
        """The phase name of each time (NA before the first explicit phase mark)."""
        labels = pd.Series(pd.NA, index=times.index, dtype="string")
        for phase in self.phases():
            labels[(times >= phase.start) & (times < phase.end)] = phase.name
        return labels

    # -- files ----------------------------------------------------------------------------------
    def write(self, directory: Path | str) -> Path:
        """Each table as JSON lines in `directory`: requests, capacity, events, routing."""
        folder = Path(directory)
        folder.mkdir(parents=True, exist_ok=True)
        for name, filename in _TABLE_FILES.items():
            table: pd.DataFrame = getattr(self, name)
            table.to_json(folder / filename, orient="records", lines=True)
        return folder

    @classmethod
    def read(cls, directory: Path | str) -> Timeline:
        folder = Path(directory)
        tables = {
            name: load_jsonl(folder / filename) if (folder / filename).exists() else None
            for name, filename in _TABLE_FILES.items()
        }
        return cls.build(**tables)
