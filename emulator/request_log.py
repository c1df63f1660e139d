"""The ARM request log and per-route counters served at GET /_emulator/requests.

Tests count mutating calls from it (e.g. "the harness sent exactly one powerOff"). The log keeps
the most recent entries; counters are totals since start.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any

LOG_LIMIT = 20_000


class RequestLog:
    """Counts "<METHOD> <route template>" and keeps the last LOG_LIMIT requests."""

    def __init__(self, limit: int = LOG_LIMIT) -> None:
        self.counters: Counter[str] = Counter()
        self.entries: deque[dict[str, Any]] = deque(maxlen=limit)

    def add(self, method: str, path: str, route: str, status: int) -> None:
        self.counters[f"{method} {route}"] += 1
        self.entries.append(
            {"time": time.time(), "method": method, "path": path, "route": route, "status": status}
        )

    def to_json(self) -> dict[str, Any]:
        return {"counters": dict(self.counters), "log": list(self.entries)}
