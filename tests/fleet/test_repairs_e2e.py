"""The platform changes the fleet while a fault is in: the revert reports it and closes the entry.

A broken health extension left in long enough: automatic repairs (Replace) swap the VM; the
drift between the snapshots names the replacement ("replaced: old → new") and nothing else.
A Spot VM with eviction policy Delete is gone after its eviction: rollback says so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from emulator.launcher import RunningEmulator
from fleet.evidence import drift, snapshot
from fleet.injector import Injector
from fleet.inventory import Inventory
from fleet.journal import Journal
from fleet.selection import Selection
from tests.fleet.support import flexchaos, target_of, wait_settled
from tests.waiting import wait_for


def test_replace_repair_shows_as_one_replacement(emulator: RunningEmulator, tmp_path: Path) -> None:
    target = target_of(emulator)
    wait_settled(target, 6)
    before = snapshot(target)
    victim = next(i for i in Inventory(target).instances() if not i.spot)
    journal = Journal(tmp_path / "journal.jsonl")
    with Injector(target, journal) as chaos:
        chaos.inject("break-extension", Selection(names=(victim.name,)))
        finished = wait_for(
            lambda: emulator.client.truth(kind="repair_finished", vm=victim.name),
            timeout=60,
            what="automatic repairs to replace the VM (grace PT10M = 12 s at the test scale)",
        )
    assert finished[0]["action"] == "Replace"
    replacement = finished[0]["replacement"]
    assert [r.ok for r in chaos.reverted] == [True]
    assert "no longer exists" in chaos.reverted[0].outcome
    assert journal.open_entries() == []

    wait_settled(target, 6)
    names = {i.name for i in Inventory(target).instances()}
    assert victim.name not in names and replacement in names
    report = drift(before, snapshot(target))
    assert report.replaced == [(victim.name, replacement)]
    assert report.empty, report.text()
    assert f"replaced: {victim.name} → {replacement}" in report.text()
    assert "no other drift" in report.text()


def test_rollback_of_an_eviction_that_deleted_the_vm(
    start_emulator: Callable[..., RunningEmulator], tmp_path: Path
) -> None:
    emulator = start_emulator(
        '[scale_set]\nspot_eviction_policy = "Delete"\n[automatic_repairs]\nenabled = false\n'
    )
    target = target_of(emulator)
    wait_settled(target, 6)
    before = snapshot(target)
    spot = next(i for i in Inventory(target).instances() if i.spot)
    assert spot.eviction_policy == "Delete"
    path = tmp_path / "journal.jsonl"
    chaos = Injector(target, Journal(path), handle_signals=False)
    injection = chaos.inject("evict", Selection(names=(spot.name,)))  # no `with`: left in
    assert "deleted" in injection.outcomes[spot.name]
    result = flexchaos("rollback", "--journal", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{spot.name} was deleted by its eviction (policy Delete)" in result.stdout
    assert Journal(path).open_entries() == []
    report = drift(before, snapshot(target))
    assert report.removed == [spot.name] and not report.added and not report.replaced
    assert [c.line() for c in report.changes] == ["scale_set.sku.capacity: 6 → 5"]
    assert any(spot.name in c.path for c in report.explained)  # its load-balancer member
    assert f"removed: {spot.name}" in report.text()
