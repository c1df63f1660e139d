"""The harness's share of Azure's request budgets, and the sampling pace that fits it.

Compute lets a subscription list VMs 300 times a minute (a bucket of 900) — each page of a
listing is one request — and read one VM 12 times a minute (a bucket of 36); Resource Manager
allows 25 reads and 10 writes a second ("Compute throttling limits", "Request limits and
throttling"; docs/azure-behaviour.md §6.1). A capacity listing of a 1000-VM set is 20 pages:
listed every probe-interval third it would take 720 pages a minute. So the capacity probe lists
no faster than LIST_SHARE of the subscription's List VMs refill allows, leaving the rest to the
guard, the evidence snapshots and whoever else shares the subscription; and it skips a listing
(a gap the evidence reports) when the budget the latest answer reported runs low.

Parallel operations: a fault on many VMs sends its calls (16 in flight, each paced by the
write budget below) without polling each long-running operation — every poll is a Resource
Manager read, and polling 16 at a time took a 1000-VM zone down 318 s platform to stop 333 VMs
and 635 s to start them — then confirms them all by one listing per round
(fleet/operations.py `wait_power_states`). Measured before: 64 operations polled at once on a
1000-VM zone down drained the reads bucket (bench/results/throttling.json).

Budgets are per platform minute: Azure's are wall minutes at time scale 1, and the emulator
refills on its platform clock, so a pace that fits here fits Azure.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

from fleet.target import FleetTarget

LIST_VMS_REFILL_PER_MIN = 300.0  # HighCostGetVM, per subscription
LIST_VMS_CAPACITY = 900.0
LIST_VMS_POLICY = "HighCostGetVMSubscription"
# Resource Manager, per subscription: reads refill 25/s (a bucket of 250), writes 10/s (200);
# what a burst of the harness's own calls leaves to its probes.
ARM_REFILL_PER_S = {"arm-reads": 25.0, "arm-writes": 10.0}
ARM_CAPACITY = {"arm-reads": 250, "arm-writes": 200}
ARM_FLOORS = {"arm-reads": 50, "arm-writes": 20}
MAX_PACE_WAIT_S = 30.0  # platform seconds one paced call waits at most
LIST_SHARE = 0.8  # of the List VMs refill the capacity probe may use
VMS_PER_PAGE = 50  # a listing page as the harness assumes it before it has listed once


def listing_pages(vm_count: int, per_page: int = VMS_PER_PAGE) -> int:
    return max(1, math.ceil(vm_count / max(1, per_page)))


def listing_period_s(pages: int) -> float:
    """Platform seconds between capacity listings of `pages` pages within LIST_SHARE of the
    subscription's List VMs refill (1 page: 0.25 s; 20 pages: 5 s)."""
    return max(1, pages) * 60.0 / (LIST_SHARE * LIST_VMS_REFILL_PER_MIN)


def reserve(pages: int) -> int:
    """Tokens to leave in the List VMs bucket: a listing of this size never starts below it
    (two listings' worth, so the guard and the snapshots still fit)."""
    return 2 * max(1, pages)


@dataclass
class _Pacer:
    """The harness's own estimate of one Resource Manager bucket, shared by every thread that
    paces on it: a check of the last reported value alone let 16 threads go at once on the same
    stale answer, and a 1000-VM zone down drew 429s for its power actions."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: float | None = None
    at: float = 0.0  # time.monotonic() of the estimate
    seen: float = 0.0  # epoch s of the latest reported value folded in


_PACERS: dict[tuple[str, str, str], _Pacer] = {}  # (Resource Manager, subscription, budget)
_PACERS_LOCK = threading.Lock()


def _pacer(target: FleetTarget, budget: str) -> _Pacer:
    """Azure's buckets are the subscription's: every client of it in this process shares one."""
    key = (target.endpoint.arm_url, target.subscription_id, budget)
    with _PACERS_LOCK:
        return _PACERS.setdefault(key, _Pacer())


def pace(target: FleetTarget, budget: str) -> None:
    """Before one call of a burst — the evidence snapshot's per-VM extension reads (1000 for a
    1000-VM set), a zone-down's power actions (333 writes) — take a token from the harness's
    estimate of Resource Manager's bucket (`arm-reads` or `arm-writes`), waiting while it is at
    its floor, so that a burst never drains the bucket the probes need and never draws a 429.
    The estimate refills at Azure's rate, on the platform clock, and follows every budget an
    answer reports (never above it: the probes' calls and other clients spend it too). Waiters
    queue on one lock, so a burst leaves at the refill rate."""
    pacer = _pacer(target, budget)
    log = target.clients.call_log
    time_scale = target.time_scale
    refill = ARM_REFILL_PER_S[budget] / max(time_scale, 1e-9)  # tokens per wall second
    floor = ARM_FLOORS[budget]
    with pacer.lock:
        now = time.monotonic()
        if pacer.tokens is None:
            pacer.tokens = float(ARM_CAPACITY[budget])
        else:
            pacer.tokens = min(ARM_CAPACITY[budget], pacer.tokens + (now - pacer.at) * refill)
        reported = log.reported(budget)
        if reported is not None and reported[1] > pacer.seen:  # refilled since it was read
            since = reported[0] + max(0.0, time.time() - reported[1]) * refill
            pacer.tokens, pacer.seen = min(pacer.tokens, since), reported[1]
        pacer.at = now
        if pacer.tokens - 1 < floor:
            wait = min(MAX_PACE_WAIT_S * time_scale, (floor + 1 - pacer.tokens) / refill)
            time.sleep(wait)
            pacer.tokens += wait * refill
            pacer.at = time.monotonic()
        pacer.tokens -= 1


def writes_s(calls: int) -> float:
    """Platform seconds a burst of `calls` writes takes at most within Resource Manager's write
    budget (its refill; the bucket lets the first ones through faster)."""
    return max(0, calls) / ARM_REFILL_PER_S["arm-writes"]


def fault_calls_wall_s(vms: int, time_scale: float, timeout_s: float) -> float:
    """Wall seconds a fault's own calls may add to an experiment: inject and revert of every
    VM, paced writes each way, each confirmed within the operation timeout. Locust and the
    probes must outlive them (they are stopped when the experiment ends; this only bounds them):
    a 333-VM zone down is 333 writes each way. `timeout_s`: the operation timeout (wall)."""
    return 2 * (writes_s(vms) * time_scale + timeout_s)
