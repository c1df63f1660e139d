"""Revert whatever the journal says is still in: the engine of `flexchaos rollback`.

Each open entry is looked up by its fault (the registry of fleet/faults), reverted with only
what the entry carries, and closed with a "reverted" record saying what was done. Reverts are
idempotent and look at the fleet first, so running rollback twice does nothing the second
time; a VM deleted or replaced meanwhile is reported and its entry closed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from fleet.faults import for_journal_kind
from fleet.faults.base import GONE
from fleet.journal import Journal, JournalEntry
from fleet.operations import VmOps
from flexchaos.errors import Unreachable, VmGone

MAX_PARALLEL = 16  # see fleet/budget.py: 16 operations polled ~once a platform second fit ARM reads


@dataclass(frozen=True)
class RevertResult:
    entry: JournalEntry
    outcome: str
    ok: bool

    def line(self) -> str:
        where = f" on {self.entry.vm}" if self.entry.vm else ""
        status = "reverted" if self.ok else "FAILED, left open"
        return f"{self.entry.fault}{where} ({self.entry.target.get('scale_set')}): {status}: " + (
            self.outcome
        )


def revert_entry(
    journal: Journal, entry: JournalEntry, timeout_s: float | None = None
) -> RevertResult:
    """Revert one entry and close it; failures leave it open for the next rollback."""
    fault = for_journal_kind(entry.fault)
    if fault is None:
        return RevertResult(entry, f"no fault named {entry.fault!r} knows how to revert it", False)
    try:
        outcome = fault.revert(VmOps(entry.fleet(), timeout_s), entry)
    except VmGone:  # deleted while we reverted (a Replace repair): nothing left to revert
        outcome = GONE
    except Unreachable as exc:
        if entry.target.get("kind") != "emulator":  # Azure unreachable: keep it for later
            return RevertResult(entry, str(exc).splitlines()[0], False)
        # An emulator that is gone took its VMs with it: there is nothing left to revert.
        outcome = (
            f"the emulator at {entry.target.get('arm_url')} is no longer running; "
            "its fleet went with it, nothing to revert"
        )
    except Exception as exc:  # reported per entry; the other entries still get reverted
        return RevertResult(entry, f"{type(exc).__name__}: {exc}".splitlines()[0], False)
    journal.record_reverted(entry.id, outcome)
    return RevertResult(entry, outcome, True)


def revert_entries(
    journal: Journal, entries: Sequence[JournalEntry], timeout_s: float | None = None
) -> list[RevertResult]:
    """Revert entries in parallel across VMs, newest first within one VM."""
    by_vm: dict[tuple[str, str | None], list[JournalEntry]] = defaultdict(list)
    for entry in entries:
        by_vm[(str(entry.target.get("arm_url")), entry.vm)].append(entry)

    def one_vm(group: list[JournalEntry]) -> list[RevertResult]:
        return [revert_entry(journal, e, timeout_s) for e in sorted(group, key=lambda e: -e.time)]

    if not by_vm:
        return []
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(by_vm))) as pool:
        groups = list(pool.map(one_vm, by_vm.values()))
    return [r for group in groups for r in group]


def rollback(
    journal: Journal, out: Callable[[str], None] = print, timeout_s: float | None = None
) -> list[RevertResult]:
    """Revert every open entry of the journal, printing one line per entry."""
    entries = journal.open_entries()
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
    return results
