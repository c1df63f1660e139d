"""A fault on many VMs sends one call per VM and confirms them all together: no operation is
polled, the states are read by listings of the set (not one instance view per VM per round),
and the revert is journaled only once every VM is seen running again.

At 333 VMs (a 1000-VM zone down) polling each operation 16 at a time took 318 s platform to stop
them and 635 s to start them; the same zone down now takes the time the write budget needs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.launcher import RunningEmulator
from fleet.guard import GuardLimits
from fleet.injector import Injector
from fleet.inventory import Inventory
from fleet.journal import Journal, new_entry
from fleet.operations import READ_EACH_UP_TO
from fleet.rollback import Fleets, rollback
from fleet.selection import Selection
from fleet.target import FleetTarget
from tests.fleet.support import now, target_of, wait_settled

VMS = 24
TOPOLOGY = f"""
[scale_set]
vm_count = {VMS}
spot_count = 0

[automatic_repairs]
enabled = false
"""


@pytest.fixture(scope="module")
def emulator(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    emu = start_emulator(TOPOLOGY)
    wait_settled(target_of(emu), size=VMS, timeout=60.0)
    return emu


def calls_since(emulator: RunningEmulator, since: float) -> Counter[str]:
    """"METHOD kind" for the ARM calls since `since`: operation polls, listings, VM reads."""
    kinds: Counter[str] = Counter()
    for e in emulator.client.requests()["log"]:
        if e["time"] < since or not str(e["path"]).startswith("/subscriptions"):
            continue
        route = str(e["route"])
        if "/operations/" in route or "/operationResults/" in route:
            kinds["operation poll"] += 1
        elif e["method"] == "GET" and route.endswith("/virtualMachines"):
            kinds["listing"] += 1
        elif e["method"] == "GET" and route.endswith("/instanceView"):
            kinds["instance view"] += 1
        elif e["method"] == "POST":
            kinds[f"POST {str(e['path']).rsplit('/', 1)[-1]}"] += 1
    return kinds


def test_many_vms_are_stopped_and_started_without_polling_each_operation(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    target = target_of(emulator)
    names = tuple(i.name for i in Inventory(target).instances())[:20]
    assert len(names) > READ_EACH_UP_TO  # the listing path, not per-VM reads
    journal = Journal(tmp_path / "journal.jsonl")
    began = now()
    with Injector(target, journal, GuardLimits("100%", 0.0)) as chaos:
        injection = chaos.inject("stop", Selection(names=names))
        stopped = {i.name: i.power_state for i in Inventory(target).instances()}
        assert all(stopped[vm] == "stopped" for vm in names)  # confirmed before inject returned
        injected = calls_since(emulator, began)
        assert injected["POST powerOff"] == len(names)
        assert injected["operation poll"] == 0
        assert injected["instance view"] == 0
        assert injected["listing"] >= 1
        assert set(injection.accepted_by_vm()) == set(names)  # each VM's own clock
        reverting = now()
        results = chaos.revert(injection)
    assert len(results) == len(names) and all(r.ok and r.acted for r in results)
    states = {i.name: i.power_state for i in Inventory(target).instances()}
    assert all(states[vm] == "running" for vm in names)
    reverted = calls_since(emulator, reverting)
    assert reverted["POST start"] == len(names)
    assert reverted["operation poll"] == 0
    closed = [r for r in journal.records() if r["record"] == "reverted"]
    assert len(closed) == len(names)
    assert all("started (was stopped)" in r["outcome"] for r in closed)
    lines: list[str] = []
    assert rollback(journal, out=lines.append) == []  # nothing left open
    wait_settled(target, size=VMS, timeout=60.0)


def test_a_revert_not_seen_to_land_in_time_stays_open_for_the_next_rollback(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    """Starts the platform accepted but that were not seen done within the timeout are not
    journaled as reverted: the next rollback finds them open and closes them."""
    target = target_of(emulator)
    names = tuple(i.name for i in Inventory(target).instances())[:18]
    journal = Journal(tmp_path / "journal.jsonl")
    chaos = Injector(target, journal, GuardLimits("100%", 0.0), handle_signals=False)
    injection = chaos.inject("stop", Selection(names=names))  # not a context: left in
    lines: list[str] = []
    hurried = rollback(journal, out=lines.append, timeout_s=0.001)  # starts sent, not seen
    assert len(hurried) == len(names)
    assert not any(r.ok for r in hurried), lines
    assert all("left open" in r.outcome for r in hurried)
    assert len(journal.open_entries(journal.scan().records)) == len(names)
    lines.clear()
    patient = rollback(journal, out=lines.append, timeout_s=60.0)
    assert len(patient) == len(injection.vms) and all(r.ok for r in patient), lines
    assert rollback(journal, out=lines.append) == []
    wait_settled(target, size=VMS, timeout=60.0)


def test_reverts_of_one_fleet_share_one_target_and_its_request_budget(
    emulator: RunningEmulator,
) -> None:
    """A target per entry gave each of a zone's 333 reverts its own clients and its own pace,
    and together they drained Resource Manager's buckets (848 429s at 1000 VMs)."""
    target = target_of(emulator)
    other = FleetTarget.from_json({**target.to_json(), "scale_set": "vmss-other"})
    entries = [new_entry(target, "stop", f"vm-{i}", revert={}) for i in range(3)]
    entries.append(new_entry(other, "stop", "vm-x", revert={}))
    fleets = Fleets(target)
    resolved = [fleets(e) for e in entries]
    assert all(t is target for t in resolved[:3])  # the caller's own target, clients and all
    assert resolved[3] is not target and resolved[3].scale_set == "vmss-other"
    assert fleets(entries[3]) is resolved[3]
    alone = Fleets()
    assert alone(entries[0]) is alone(entries[1]) is not target
