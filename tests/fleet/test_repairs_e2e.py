"""A broken health extension left in long enough: automatic repairs (Replace) swap the VM.

The revert then finds the VM gone, says so and closes the entry; the drift between the
snapshots names the replacement ("replaced: old → new") and nothing else differs.
"""

from __future__ import annotations

from pathlib import Path

from emulator.launcher import RunningEmulator
from fleet.evidence import drift, snapshot
from fleet.injector import Injector
from fleet.inventory import Inventory
from fleet.journal import Journal
from fleet.selection import Selection
from tests.fleet.support import target_of, wait_settled
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
