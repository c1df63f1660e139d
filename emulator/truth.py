"""Ground truth: what really happened inside the emulator, with wall-clock timestamps.

Tests and benches compare the harness's measurements with this record. It is append-only and
served at GET /_emulator/truth. Components record facts, never interpretations.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TruthListener = Callable[["TruthEvent"], None]


@dataclass(frozen=True)
class TruthEvent:
    """One fact: its kind (e.g. "power_state", "app_down", "probe_down"), when, and details."""

    time: float
    kind: str
    vm: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"time": self.time, "kind": self.kind, "vm": self.vm, **self.details}


class Truth:
    """The append-only record of facts, with listeners for components that react to them."""

    def __init__(self) -> None:
        self._events: list[TruthEvent] = []
        self._listeners: list[TruthListener] = []

    def record(self, kind: str, vm: str | None = None, **details: Any) -> TruthEvent:
        event = TruthEvent(time=time.time(), kind=kind, vm=vm, details=details)
        self._events.append(event)
        for listener in list(self._listeners):
            listener(event)
        return event

    def subscribe(self, listener: TruthListener) -> None:
        self._listeners.append(listener)

    def events(
        self, kind: str | None = None, vm: str | None = None, since: float | None = None
    ) -> list[TruthEvent]:
        return [
            e
            for e in self._events
            if (kind is None or e.kind == kind)
            and (vm is None or e.vm == vm)
            and (since is None or e.time >= since)
        ]
