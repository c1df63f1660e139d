"""Azure's request budgets: Compute's token buckets per VM and per subscription, per operation
class, and Resource Manager's per-subscription read/write/delete buckets
(docs/azure-behaviour.md §6.1).

Compute ("Compute throttling limits", 2024): each policy has a bucket per resource (a VM) and
one per subscription; every request takes a token from each bucket of its policy; an empty
bucket answers 429 `OperationNotAllowed` / `TooManyRequests` with `Retry-After`; every answer
carries `x-ms-ratelimit-remaining-resource: Microsoft.Compute/<policy>;<tokens left>`.
Resource Manager (2024 token buckets): reads 250 (refill 25/s), writes and deletes 200
(10/s) per subscription, reported in `x-ms-ratelimit-remaining-subscription-<kind>`.

Buckets refill on **platform time** (the world's clock): the harness paces itself in platform
seconds (its probe ticks are fractions of the load balancer's probe interval), so a call
pattern that fits here fits Azure's wall-clock buckets at time scale 1 — the emulator is a
rehearsal of the same pattern, compressed. Wall-time buckets would throttle at a time scale
of 0.05 a pattern that Azure accepts, and teach the harness nothing.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from emulator.clock import Clock

MINUTE = 60.0
SECOND = 1.0


@dataclass(frozen=True)
class Limit:
    """A token bucket: `capacity` tokens, refilled by `refill` tokens every `per` seconds."""

    refill: float
    capacity: float
    per: float = MINUTE

    @property
    def rate_per_s(self) -> float:
        return self.refill / self.per


@dataclass(frozen=True)
class Policy:
    """One of Compute's policy categories (or ARM's read/write/delete): its name in the
    rate-limit headers and its per-resource and per-subscription buckets."""

    name: str
    resource: Limit | None
    subscription: Limit


# Virtual Machines and Virtual Machine Scale Sets tables of "Compute throttling limits"
# (MicrosoftDocs/azure-compute-docs articles/virtual-machines/compute-throttling-limits.md).
COMPUTE_POLICIES = {
    p.name: p
    for p in (
        Policy("PutVM", Limit(4, 12), Limit(500, 1500)),
        Policy("UpdateVM", Limit(4, 12), Limit(500, 1500)),
        Policy("DeleteVM", Limit(4, 12), Limit(500, 1500)),
        Policy("LowCostGetVM", Limit(12, 36), Limit(8000, 24000)),
        Policy("HighCostGetVM", None, Limit(300, 900)),
        Policy("GetOperation", Limit(15, 45), Limit(5000, 15000)),
        Policy("LowCostGetVMScaleSet", Limit(12, 36), Limit(800, 2400)),
        Policy("HighCostGetVMScaleSet", None, Limit(360, 1080)),
    )
}
# request-limits-and-throttling.md, "Regional throttling and token bucket algorithm".
ARM_POLICIES = {
    "reads": Policy("reads", None, Limit(25, 250, SECOND)),
    "writes": Policy("writes", None, Limit(10, 200, SECOND)),
    "deletes": Policy("deletes", None, Limit(10, 200, SECOND)),
}
UPDATE_ACTIONS = ("powerOff", "start", "restart", "redeploy", "reimage")
DELETE_ACTIONS = ("deallocate", "simulateEviction")


def compute_policy(method: str, route: str) -> tuple[str, str | None] | None:
    """(policy, resource key) for a Compute request by route template, or None (not Compute,
    or no policy: the operation results' final GETs are counted as operation polls)."""
    if "/providers/Microsoft.Compute/" not in route:
        return None
    if "/locations/" in route and ("/operations/" in route or "/operationResults/" in route):
        return "GetOperation", "{operationId}"
    if "/virtualMachineScaleSets" in route:
        if route.endswith("/virtualMachineScaleSets"):
            return "HighCostGetVMScaleSet", None
        return ("LowCostGetVMScaleSet", "{vmScaleSetName}") if method == "GET" else None
    if route.endswith("/virtualMachines"):
        return "HighCostGetVM", None
    if "{vmName}" not in route:
        return None
    last = route.rsplit("/", 1)[-1]
    if method == "GET":
        return "LowCostGetVM", "{vmName}"
    if method == "PUT" and last == "{vmName}":
        return "PutVM", "{vmName}"
    if method == "DELETE" and last == "{vmName}":
        return "DeleteVM", "{vmName}"
    if method == "POST" and last in DELETE_ACTIONS:
        return "DeleteVM", "{vmName}"
    return "UpdateVM", "{vmName}"  # power actions, extension PUT/PATCH/DELETE, PATCH VM


def arm_kind(method: str) -> str:
    return {"GET": "reads", "HEAD": "reads", "DELETE": "deletes"}.get(method, "writes")


@dataclass
class Bucket:
    """Tokens left at `at` (platform seconds); refilled lazily on each take."""

    limit: Limit
    tokens: float
    at: float

    def refill(self, now: float) -> None:
        gained = (now - self.at) * self.limit.rate_per_s
        self.tokens = min(self.limit.capacity, self.tokens + gained)
        self.at = now

    def wait_s(self) -> float:
        """Platform seconds until one token is back."""
        return max(0.0, (1.0 - self.tokens) / self.limit.rate_per_s)


@dataclass(frozen=True)
class Charge:
    """The answer to one request: the headers to send, and the policy that throttled it."""

    headers: list[tuple[str, str]]
    throttled: str | None = None  # "<policy><Scope>" that had no token left
    retry_after_platform_s: float = 0.0


@dataclass
class Throttling:
    """Every bucket of one emulated subscription; thread-safe, lazily created per resource."""

    clock: Clock
    enabled: bool = True
    _buckets: dict[tuple[str, str, str], Bucket] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    calls: Counter[str] = field(default_factory=Counter)  # "<policy>" → requests charged
    throttled: Counter[str] = field(default_factory=Counter)
    minutes: dict[str, Counter[int]] = field(default_factory=dict)  # policy → platform minute
    lowest: dict[str, float] = field(default_factory=dict)  # "<policy><Scope>" → fewest left
    started_at: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started_at = self._now()

    def _now(self) -> float:
        return self.clock.platform(self.clock.now())

    def _bucket(self, policy: str, scope: str, key: str, limit: Limit, now: float) -> Bucket:
        bucket = self._buckets.get((policy, scope, key))
        if bucket is None:
            bucket = self._buckets[(policy, scope, key)] = Bucket(limit, limit.capacity, now)
        bucket.refill(now)
        return bucket

    def charge(self, method: str, route: str, match: dict[str, str]) -> Charge:
        """Take one token from each bucket this request falls under; all or none."""
        if not self.enabled:
            return Charge([])
        now = self._now()
        kind = arm_kind(method)
        found = compute_policy(method, route)
        label = found[0] if found else f"arm-{kind}"
        with self._lock:
            scoped = [(f"arm-{kind}", self._take(kind, "", ARM_POLICIES[kind].subscription, now))]
            if found is not None:
                name, key_name = found
                policy = COMPUTE_POLICIES[name]
                whole = self._take(name, "", policy.subscription, now)
                scoped.append((f"{name}Subscription", whole))
                key = match.get(key_name.strip("{}"), "").lower() if key_name else ""
                if policy.resource is not None and key:
                    scoped.append((f"{name}Resource", self._take(name, key, policy.resource, now)))
            empty = [(tag, b) for tag, b in scoped if b.tokens < 1.0]
            if not empty:
                for _, b in scoped:
                    b.tokens -= 1.0
            minute = int((now - self.started_at) // MINUTE)
            for counted in {label, f"arm-{kind}"}:  # a Compute call is an ARM read/write too
                self.calls[counted] += 1
                self.minutes.setdefault(counted, Counter())[minute] += 1
            for tag, b in scoped:
                self.lowest[tag] = min(self.lowest.get(tag, math.inf), b.tokens)
            left = int(scoped[0][1].tokens)
            headers = [(f"x-ms-ratelimit-remaining-subscription-{kind}", str(left))]
            compute = [f"Microsoft.Compute/{tag};{int(b.tokens)}" for tag, b in scoped[1:]]
            if compute:
                headers.append(("x-ms-ratelimit-remaining-resource", ",".join(compute)))
            if not empty:
                return Charge(headers)
            self.throttled[label] += 1
            tag, bucket = max(empty, key=lambda e: e[1].wait_s())
            return Charge(headers, throttled=tag, retry_after_platform_s=bucket.wait_s())

    def _take(self, policy: str, key: str, limit: Limit, now: float) -> Bucket:
        """The bucket of (policy, resource key or "" for the subscription), refilled to now."""
        scope = "Resource" if key else "Subscription"
        return self._bucket(policy, scope, key, limit, now)

    def stats(self) -> dict[str, Any]:
        """Calls per policy and platform minute, throttled answers, the fewest tokens seen."""

        def limit(lim: Limit | None) -> dict[str, float] | None:
            if lim is None:
                return None
            return {"refill_per_min": round(lim.rate_per_s * MINUTE, 3), "capacity": lim.capacity}

        policies = {**COMPUTE_POLICIES, **{f"arm-{k}": p for k, p in ARM_POLICIES.items()}}
        with self._lock:
            return {
                "enabled": self.enabled,
                "clock": "platform",
                "limits": {
                    n: {"resource": limit(p.resource), "subscription": limit(p.subscription)}
                    for n, p in policies.items()
                },
                "calls": dict(self.calls),
                "throttled": dict(self.throttled),
                "per_platform_minute": {
                    k: [v.get(m, 0) for m in range(max(v) + 1)] for k, v in self.minutes.items()
                },
                "lowest_remaining": {k: round(v, 2) for k, v in self.lowest.items()},
            }
