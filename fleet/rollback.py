"""Revert whatever the journal says is still in: the engine of `flexchaos rollback`.

Each open entry is looked up by its fault (the registry of fleet/faults), reverted with only
what the entry carries, and closed with a "reverted" record saying what was done. Reverts are
idempotent and look at the fleet first, so running rollback twice does nothing the second
time; a VM deleted or replaced meanwhile is reported and its entry closed. Every entry gets
one line: how far the fault got (journaled only, or landed), what was done or why nothing
needed doing, and how long it took. A journal that cannot be read stops rollback before any
call (fleet/journal_lines.py); a torn last line is reported and the complete entries are
rolled back.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from fleet.faults import for_journal_kind
from fleet.faults.base import GONE, NothingToRevert, Underway
from fleet.journal import Journal, JournalEntry
from fleet.operations import VmOps
from fleet.target import FleetTarget
from flexchaos.errors import Unreachable, VmGone

MAX_PARALLEL = 16  # calls in flight at once; each paced by Resource Manager's budget (budget.py)


@dataclass(frozen=True)
class RevertResult:
    entry: JournalEntry
    outcome: str
    ok: bool
    seconds: float = 0.0
    finished: float = field(default_factory=time.monotonic)  # when `seconds` was measured

    @property
    def acted(self) -> bool:
        """Something was undone (False: nothing needed doing, or the revert failed)."""
        return self.ok and not isinstance(self.outcome, NothingToRevert)

    @property
    def status(self) -> str:
        if not self.ok:
            return "FAILED, left open"
        return "reverted" if self.acted else "nothing to revert"

    def line(self) -> str:
        entry = self.entry
        where = f" on {entry.vm}" if entry.vm else ""
        phase = "landed" if entry.landed_at is not None else "journaled, not seen to land"
        return (
            f"{entry.fault}{where} ({entry.target.get('scale_set')}, {phase}): {self.status} "
            f"in {self.seconds:.1f} s: {self.outcome}"
        )


class Fleets:
    """One FleetTarget (one set of clients, one call log, one pace) per fleet the entries name:
    a target per entry would give each of a zone's 333 reverts its own clients and its own
    estimate of the subscription's request budget, and together they drain it."""

    def __init__(self, known: FleetTarget | None = None) -> None:
        self._known = known
        self._by_key: dict[str, FleetTarget] = {}
        self._lock = threading.Lock()

    def __call__(self, entry: JournalEntry) -> FleetTarget:
        key = json.dumps(entry.target, sort_keys=True)
        with self._lock:
            return self._by_key.get(key) or self._add(key, entry)

    def _add(self, key: str, entry: JournalEntry) -> FleetTarget:
        known = self._known
        if known is not None and json.dumps(known.to_json(), sort_keys=True) == key:
            self._by_key[key] = known
        else:
            self._by_key[key] = entry.fleet()
        return self._by_key[key]


def revert_entry(
    journal: Journal,
    entry: JournalEntry,
    timeout_s: float | None = None,
    fleets: Fleets | None = None,
) -> RevertResult:
    """Revert one entry and close it; failures leave it open for the next rollback."""
    fault = for_journal_kind(entry.fault)
    if fault is None:
        return RevertResult(entry, f"no fault named {entry.fault!r} knows how to revert it", False)
    began = time.monotonic()

    def result(outcome: str, ok: bool) -> RevertResult:
        return RevertResult(entry, outcome, ok, time.monotonic() - began)

    try:
        outcome = fault.revert(VmOps((fleets or Fleets())(entry), timeout_s), entry)
    except VmGone:  # deleted while we reverted (a Replace repair): nothing left to revert
        outcome = GONE
    except Unreachable as exc:
        if entry.target.get("kind") != "emulator":  # Azure unreachable: keep it for later
            return result(str(exc).splitlines()[0], False)
        # An emulator that is gone took its VMs with it: there is nothing left to revert.
        outcome = NothingToRevert(
            f"the emulator at {entry.target.get('arm_url')} is no longer running; "
            "its fleet went with it, nothing to revert"
        )
    except Exception as exc:  # reported per entry; the other entries still get reverted
        return result(f"{type(exc).__name__}: {exc}".splitlines()[0], False)
    if isinstance(outcome, Underway):  # journaled once the platform shows it (confirm())
        return result(outcome, True)
    journal.record_reverted(entry.id, str(outcome))
    return result(outcome, True)


def confirm(
    journal: Journal,
    results: list[RevertResult],
    timeout_s: float | None = None,
    fleets: Fleets | None = None,
) -> list[RevertResult]:
    """Wait for every revert still underway, all VMs of a fleet together, then journal it as
    done; one that does not get there in time fails and stays open for the next rollback."""
    underway: dict[str, list[RevertResult]] = defaultdict(list)
    for r in results:
        if isinstance(r.outcome, Underway):
            underway[str(r.entry.target.get("arm_url"))].append(r)
    if not underway:
        return results
    confirmed: dict[str, RevertResult] = {}
    for group in underway.values():
        ops = VmOps((fleets or Fleets())(group[0].entry), timeout_s)
        wanted = {r.outcome.vm: r.outcome.awaits for r in group if isinstance(r.outcome, Underway)}
        try:
            reached, missed = ops.wait_power_states(wanted)
        except Exception as exc:  # the fleet cannot be read: these reverts are unconfirmed
            reached, missed = {}, {vm: f"unread ({type(exc).__name__}: {exc})" for vm in wanted}
        for r in group:
            assert isinstance(r.outcome, Underway)
            seconds = r.seconds + (time.monotonic() - r.finished)
            if r.outcome.vm in reached:
                journal.record_reverted(r.entry.id, str(r.outcome))
                confirmed[r.entry.id] = RevertResult(r.entry, str(r.outcome), True, seconds)
            else:
                state = missed.get(r.outcome.vm) or "gone"
                confirmed[r.entry.id] = RevertResult(
                    r.entry,
                    f"{r.outcome.vm} is {state} after {ops.timeout_s:.0f} s waiting for "
                    f"{' or '.join(str(s) for s in r.outcome.awaits)}; left open",
                    False,
                    seconds,
                )
    return [confirmed.get(r.entry.id, r) for r in results]


def revert_entries(
    journal: Journal,
    entries: Sequence[JournalEntry],
    timeout_s: float | None = None,
    target: FleetTarget | None = None,
) -> list[RevertResult]:
    """Revert entries in parallel across VMs, newest first within one VM; the reverts the
    platform is still carrying out are then confirmed together. `target`: the fleet the caller
    already holds (the injector's), whose clients the entries of that fleet then share."""
    fleets = Fleets(target)
    by_vm: dict[tuple[str, str | None], list[JournalEntry]] = defaultdict(list)
    for entry in entries:
        by_vm[(str(entry.target.get("arm_url")), entry.vm)].append(entry)

    def one_vm(group: list[JournalEntry]) -> list[RevertResult]:
        newest_first = sorted(group, key=lambda e: -e.time)
        return [revert_entry(journal, e, timeout_s, fleets) for e in newest_first]

    if not by_vm:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(by_vm))) as pool:
        groups = list(pool.map(one_vm, by_vm.values()))
    return confirm(journal, [r for group in groups for r in group], timeout_s, fleets)


def rollback(
    journal: Journal, out: Callable[[str], None] = print, timeout_s: float | None = None
) -> list[RevertResult]:
    """Revert every open entry of the journal, printing one line per entry and a summary.
    JournalDamaged (bad input) before any call when the journal cannot be read."""
    began = time.monotonic()
    found = journal.scan()
    for torn in found.torn:
        out(torn.text(journal.path))
    entries = journal.open_entries(found.records)
    if not entries:
        out(f"nothing to roll back: {journal.path} has no open entries")
        return []
    out(
        f"rolling back {len(entries)} open entr{'y' if len(entries) == 1 else 'ies'} "
        f"from {journal.path}"
    )
    results = revert_entries(journal, entries, timeout_s)
    for result in results:
        out(result.line())
    acted = sum(r.acted for r in results)
    failed = sum(not r.ok for r in results)
    out(
        f"rollback done in {time.monotonic() - began:.1f} s: {acted} reverted, "
        f"{len(results) - acted - failed} with nothing to revert, {failed} failed (left open)"
    )
    return results
