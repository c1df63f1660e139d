"""The harness's share of Azure's request budgets, and the sampling pace that fits it.

Compute lets a subscription list VMs 300 times a minute (a bucket of 900) — each page of a
listing is one request — and read one VM 12 times a minute (a bucket of 36); Resource Manager
allows 25 reads and 10 writes a second ("Compute throttling limits", "Request limits and
throttling"; docs/azure-behaviour.md §6.1). A capacity listing of a 1000-VM set is 20 pages:
listed every probe-interval third it would take 720 pages a minute. So the capacity probe lists
no faster than LIST_SHARE of the subscription's List VMs refill allows, leaving the rest to the
guard, the evidence snapshots and whoever else shares the subscription; and it skips a listing
(a gap the evidence reports) when the budget the latest answer reported runs low.

Budgets are per platform minute: Azure's are wall minutes at time scale 1, and the emulator
refills on its platform clock, so a pace that fits here fits Azure.
"""

from __future__ import annotations

import math

LIST_VMS_REFILL_PER_MIN = 300.0  # HighCostGetVM, per subscription
LIST_VMS_CAPACITY = 900.0
LIST_VMS_POLICY = "HighCostGetVMSubscription"
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
