"""Control-plane faults for testing the harness: a share of ARM requests answered 429 or 5xx,
added latency, and a share of VM listings that fail outright (every retry of one listing gets
the same 500, so the SDK gives up and the harness sees a failed capacity sample).

A request the SDK retries keeps its x-ms-client-request-id, so the emulator can promise what a
real throttled ARM gives in practice: a retried request gets through before the SDK's default
status-retry budget (3 retries) runs out. At most MAX_CONSECUTIVE faults hit the same id in a row.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass, field

MAX_CONSECUTIVE = 3
_TRACKED_IDS = 10_000


@dataclass
class ControlFaults:
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    latency_ms: float = 0.0
    seed: int | None = None
    listing_failure_rate: float = 0.0
    _rng: random.Random = field(init=False, repr=False)
    _streaks: OrderedDict[str, int] = field(init=False, repr=False, default_factory=OrderedDict)
    _listings: OrderedDict[str, bool] = field(init=False, repr=False, default_factory=OrderedDict)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.configure(self.rate_429, self.rate_5xx, self.latency_ms, self.listing_failure_rate)

    def configure(
        self, rate_429: float, rate_5xx: float, latency_ms: float, listing_failure_rate: float = 0.0
    ) -> None:
        """Validate and set the rates (0..1, sum <= 1) and the latency (ms >= 0)."""
        if not (0 <= rate_429 <= 1 and 0 <= rate_5xx <= 1 and rate_429 + rate_5xx <= 1):
            raise ValueError("rate_429 and rate_5xx must be in [0, 1] and sum to at most 1")
        if latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        if not 0 <= listing_failure_rate <= 1:
            raise ValueError("listing_failure_rate must be in [0, 1]")
        self.rate_429, self.rate_5xx, self.latency_ms = rate_429, rate_5xx, latency_ms
        self.listing_failure_rate = listing_failure_rate

    def to_json(self) -> dict[str, float]:
        return {
            "rate_429": self.rate_429,
            "rate_5xx": self.rate_5xx,
            "latency_ms": self.latency_ms,
            "listing_failure_rate": self.listing_failure_rate,
        }

    def listing_fails(self, client_request_id: str | None) -> bool:
        """Whether this VM listing fails; decided once per listing (its retries share the id)."""
        if self.listing_failure_rate == 0:
            return False
        if client_request_id is None:
            return self._rng.random() < self.listing_failure_rate
        if client_request_id not in self._listings:
            self._listings[client_request_id] = self._rng.random() < self.listing_failure_rate
            while len(self._listings) > _TRACKED_IDS:
                self._listings.popitem(last=False)
        return self._listings[client_request_id]

    def decide(self, client_request_id: str | None) -> int | None:
        """The fault status for this request (429, 500 or 503), or None to serve it."""
        if self.rate_429 == 0 and self.rate_5xx == 0:
            return None
        streak = self._streaks.get(client_request_id, 0) if client_request_id else 0
        draw = self._rng.random()
        status: int | None = None
        if streak < MAX_CONSECUTIVE:
            if draw < self.rate_429:
                status = 429
            elif draw < self.rate_429 + self.rate_5xx:
                status = self._rng.choice((500, 503))
        if client_request_id:
            self._streaks.pop(client_request_id, None)
            if status is not None:
                self._streaks[client_request_id] = streak + 1
                while len(self._streaks) > _TRACKED_IDS:
                    self._streaks.popitem(last=False)
        return status
