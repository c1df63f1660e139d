"""Rollback of a Spot eviction in each phase a killed run can leave it in — journaled but never
sent, sent (in its Preempt notice), landed and already reverted — says what happened and waits
only for an eviction that may still come (issue 14: it blocked 54-60 s and misreported)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.launcher import RunningEmulator
from fleet.faults.base import NothingToRevert
from fleet.inventory import Inventory
from fleet.journal import Journal, new_entry
from fleet.operations import VmOps
from fleet.rollback import rollback
from fleet.target import FleetTarget
from tests.fleet.support import target_of, wait_settled


@pytest.fixture(scope="module")
def fleet(emulator: RunningEmulator) -> FleetTarget:
    target = target_of(emulator)
    wait_settled(target, 6)
    return target


def spot_vm(target: FleetTarget) -> str:
    return next(i.name for i in Inventory(target).instances() if i.spot and i.running)


def journaled_eviction(target: FleetTarget, path: Path, vm: str) -> tuple[Journal, str]:
    journal = Journal(path)
    entry = new_entry(target, "evict", vm, revert={"eviction_policy": "Deallocate"})
    journal.record_injected(entry)
    return journal, entry.id


def test_never_sent_is_nothing_to_revert(fleet: FleetTarget, tmp_path: Path) -> None:
    assert fleet.time_scale < 1  # the notice bound is on the emulator's clock
    vm = spot_vm(fleet)
    journal, _ = journaled_eviction(fleet, tmp_path / "journal.jsonl", vm)
    lines: list[str] = []
    [result] = rollback(journal, lines.append)
    assert result.ok and isinstance(result.outcome, NothingToRevert)
    assert "never sent" in result.outcome and "journaled, not seen to land" in lines[1]
    assert "nothing to revert" in lines[1]
    assert VmOps(fleet).power_state(vm) == "running" and journal.open_entries() == []


def test_sent_then_killed_waits_for_the_eviction_and_starts_it(
    fleet: FleetTarget, tmp_path: Path
) -> None:
    vm = spot_vm(fleet)
    journal, _ = journaled_eviction(fleet, tmp_path / "journal.jsonl", vm)
    VmOps(fleet).simulate_eviction(vm)  # the call went out; the run died in the notice
    [result] = rollback(journal, lambda line: None)
    assert result.ok and result.acted, result.outcome
    assert f"{vm} started (was" in result.outcome
    assert VmOps(fleet).power_state(vm) == "running"
    wait_settled(fleet, 6)


def test_landed_and_already_reverted_is_said_at_once(fleet: FleetTarget, tmp_path: Path) -> None:
    vm = spot_vm(fleet)
    journal, entry_id = journaled_eviction(fleet, tmp_path / "journal.jsonl", vm)
    journal.record_landed(entry_id)  # evicted, then the run started it and died before closing
    [result] = rollback(journal, lambda line: None)
    assert result.ok and isinstance(result.outcome, NothingToRevert)
    assert "already reverted" in result.outcome
