"""Constructed timelines with known answers: requests on a fixed grid, capacity on a fixed tick."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

VMS = [f"vm-{i}" for i in range(6)]
T0 = 1_700_000_000.0  # an epoch-like origin; every time below is T0 + offset


def requests(
    until: float,
    *,
    since: float = 0.0,
    every: float = 0.01,
    failing: Sequence[tuple[float, float]] = (),
    absent: dict[str, tuple[float, float]] | None = None,
    ok_latency_ms: float = 5.0,
    failed_latency_ms: float = 1.0,
) -> list[dict[str, Any]]:
    """A request every `every` s in [since, until); failed inside the `failing` intervals.

    Successful requests rotate over VMS, skipping a VM while it is `absent` (name -> interval)."""
    absent = absent or {}
    rows = []
    count = round((until - since) / every)
    for k in range(count):
        t = since + k * every
        fail = any(a <= t < b for a, b in failing)
        candidates = [
            v
            for v in VMS
            if not (absent.get(v, (1e18, 1e18))[0] <= t < absent.get(v, (1e18, 1e18))[1])
        ]
        rows.append(
            {
                "start": T0 + t,
                "latency_ms": failed_latency_ms if fail else ok_latency_ms,
                "ok": not fail,
                "status": 0 if fail else 200,
                "served_by": None if fail else candidates[k % len(candidates)],
                "error": "ConnectionResetError: reset" if fail else None,
                "source": "locust",
            }
        )
    return rows


def capacity(
    until: float,
    *,
    tick: float = 0.25,
    down: dict[str, tuple[float, float]] | None = None,
) -> list[dict[str, Any]]:
    """Every VM sampled each tick; a VM is stopped inside its `down` interval."""
    down = down or {}
    rows = []
    for t in np.arange(0.0, until, tick):
        for vm in VMS:
            a, b = down.get(vm, (1e18, 1e18))
            stopped = a <= t < b
            rows.append(
                {
                    "time": T0 + float(t),
                    "instance": vm,
                    "power_state": "stopped" if stopped else "running",
                    "health_state": None if stopped else "healthy",
                    "running": not stopped,
                    "healthy": not stopped,
                }
            )
    return rows


def events(*items: tuple[float, str]) -> list[dict[str, Any]]:
    return [
        {"time": T0 + t, "kind": kind, "fault": "stop", "vm": "vm-2", "detail": None}
        for t, kind in items
    ]
