"""Every answer Resource Manager gave the harness, attempt by attempt: the retries the SDK makes
out of sight (429 and 5xx answers), and the request budgets Azure reports on each answer.

The SDK retries a 429 or a 5xx by itself (azure-core's RetryPolicy, up to 3 retries), so a
throttled call looks like a slow call. This policy sits after the retry policy in every client's
pipeline (the `custom_hook_policy` slot), so it sees each attempt: the run's evidence counts the
retried answers (probes/diagnostics.py), and the probes pace themselves on the budgets left —
`x-ms-ratelimit-remaining-resource: Microsoft.Compute/<policy>;<n>[,…]` and
`x-ms-ratelimit-remaining-subscription-{reads,writes,deletes}` (docs/azure-behaviour.md §6.1).
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any

from azure.core.pipeline.policies import SansIOHTTPPolicy

RESOURCE_HEADER = "x-ms-ratelimit-remaining-resource"
SUBSCRIPTION_HEADERS = {
    f"x-ms-ratelimit-remaining-subscription-{kind}": f"arm-{kind}"
    for kind in ("reads", "writes", "deletes")
}
KEPT_RETRIES = 1000


@dataclass(frozen=True)
class RetriedAnswer:
    """One answer the SDK retried: when it came, for what, its status and the wait it asked."""

    time: float
    method: str
    path: str
    status: int
    retry_after: str | None


def parse_remaining(value: str) -> dict[str, int]:
    """`Microsoft.Compute/A;3,Microsoft.Compute/B;12` → {"A": 3, "B": 12} (bad parts skipped)."""
    out: dict[str, int] = {}
    for part in value.split(","):
        name, _, count = part.strip().rpartition(";")
        if not name or not count.strip().lstrip("-").isdigit():
            continue
        out[name.rsplit("/", 1)[-1]] = int(count)
    return out


class CallLog:
    """Thread-safe tallies of the answers of one fleet's clients."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.retried: deque[RetriedAnswer] = deque(maxlen=KEPT_RETRIES)
        self.retried_total = 0
        self.remaining: dict[str, tuple[int, float]] = {}  # policy → (tokens left, when read)
        self._retried_in: dict[int, float] = {}  # thread → time of its latest retried answer
        self.budget_headers: dict[str, str] = {}  # the latest served answer's x-ms-ratelimit-*

    def record(self, method: str, path: str, status: int, headers: Any) -> None:
        now = time.time()
        with self._lock:
            self.statuses[status] += 1
            if status == 429 or status >= 500:
                self.retried_total += 1
                self._retried_in[threading.get_ident()] = now
                self.retried.append(
                    RetriedAnswer(now, method, path, status, headers.get("Retry-After"))
                )
            # the preflight's headroom: from answers that were served, not from a 429 the SDK
            # retried (its "0 left" is gone by the retry that succeeds; a bucket that stays
            # empty fails the call itself)
            for header in headers if status != 429 and status < 500 else ():
                if header.lower().startswith("x-ms-ratelimit-remaining-"):
                    self.budget_headers[header.lower()] = headers[header]
            value = headers.get(RESOURCE_HEADER)
            if value:
                for name, left in parse_remaining(value).items():
                    self.remaining[name] = (left, now)
            for header, name in SUBSCRIPTION_HEADERS.items():
                left = headers.get(header)
                if left is not None and left.strip().isdigit():
                    self.remaining[name] = (int(left), now)

    def left(self, policy: str) -> int | None:
        """Tokens the latest answer reported for a policy (e.g. "HighCostGetVMSubscription")."""
        with self._lock:
            found = self.remaining.get(policy)
        return None if found is None else found[0]

    def reported(self, policy: str) -> tuple[int, float] | None:
        """(tokens left, when the answer reporting it came: epoch s) for a policy, or None."""
        with self._lock:
            return self.remaining.get(policy)

    def answered_at(self, sent: float) -> float:
        """The time an answer describes, for a call this thread made from `sent` until now: the
        middle of its last attempt (after the latest answer the SDK retried, if any) — the
        server read its state somewhere in there. A call retried for seconds is not dated back
        to its first send, nor a slow answer forward to its arrival."""
        now = time.time()
        with self._lock:
            retried = self._retried_in.get(threading.get_ident(), 0.0)
        start = min(now, max(sent, retried))
        return (start + now) / 2

    def retried_since(self, since: float) -> list[RetriedAnswer]:
        with self._lock:
            return [r for r in self.retried if r.time >= since]

    def summary(self) -> dict[str, Any]:
        with self._lock:
            return {
                "answers": sum(self.statuses.values()),
                "throttled_429": self.statuses.get(429, 0),
                "server_errors_5xx": sum(n for s, n in self.statuses.items() if s >= 500),
                "latest_remaining": {k: v for k, (v, _) in sorted(self.remaining.items())},
            }


class CallLogPolicy(SansIOHTTPPolicy):
    """Records every attempt's answer in a CallLog (placed after the SDK's retry policy)."""

    def __init__(self, log: CallLog) -> None:
        super().__init__()
        self.log = log

    def on_response(self, request: Any, response: Any) -> None:
        http = response.http_response
        req = request.http_request
        path = req.url.split("?", 1)[0]
        self.log.record(req.method, path, http.status_code, http.headers)


class Stamped(list[Any]):
    """A read's items with the time its answer describes (`time`), which the probes use as the
    rows' time (probes/table_probe.py)."""

    def __init__(self, items: Any, time: float) -> None:
        super().__init__(items)
        self.time = time
