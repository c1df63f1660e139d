"""Every fault injects and reverts through the SDK against the emulator, and the fleet comes
back: the drift between the snapshots before and after is empty."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emulator.launcher import RunningEmulator
from fleet.evidence import drift, snapshot
from fleet.guard import GuardLimits
from fleet.injector import Injector
from fleet.inventory import Instance, Inventory
from fleet.journal import Journal
from fleet.operations import VmOps
from fleet.selection import Selection
from fleet.target import FleetTarget
from tests.fleet.support import target_of, wait_settled
from tests.waiting import wait_for

# repairs far away (PT90M = 108 s at the test scale) so that only the fault changes the fleet
TOPOLOGY = """
[automatic_repairs]
enabled = true
grace_period = "PT90M"
"""


@pytest.fixture(scope="module")
def fleet(start_emulator: Callable[..., RunningEmulator]) -> FleetTarget:
    target = target_of(start_emulator(TOPOLOGY))
    wait_settled(target)
    return target


def pick(target: FleetTarget, spot: bool = False) -> Instance:
    return next(i for i in Inventory(target).instances() if i.spot == spot)


def state_of(target: FleetTarget, name: str) -> Instance | None:
    return Inventory(target).sample().by_name().get(name)


def health_settings(target: FleetTarget, vm: str) -> dict[str, Any]:
    ext = VmOps(target).health_extension(vm)
    assert ext is not None
    return ext["properties"]["settings"]


CASES: list[tuple[str, dict[str, Any]]] = [
    ("stop", {}),
    ("stop", {"skip_shutdown": True}),
    ("deallocate", {}),
    ("evict", {}),
    ("break-extension", {}),
    ("zone-down", {"zone": "2"}),
    ("restart", {}),
    ("redeploy", {}),
]


@pytest.mark.parametrize(("fault", "options"), CASES, ids=[f"{f}{o or ''}" for f, o in CASES])
def test_fault_injects_and_reverts_without_drift(
    fleet: FleetTarget, tmp_path: Path, fault: str, options: dict[str, Any]
) -> None:
    before = snapshot(fleet)
    victim = pick(fleet, spot=(fault == "evict"))
    selection = Selection(names=(victim.name,)) if fault != "zone-down" else Selection()
    journal = Journal(tmp_path / "journal.jsonl")
    original = health_settings(fleet, victim.name)
    with Injector(fleet, journal, GuardLimits("50%", 0.5)) as chaos:
        injection = chaos.inject(fault, selection, **options)
        injected = [r for r in journal.records() if r["record"] == "injected"]
        assert sorted(r["vm"] for r in injected) == sorted(injection.vms)
        if fault in ("stop", "zone-down"):
            assert all(state_of(fleet, vm).power_state == "stopped" for vm in injection.vms)
            if fault == "zone-down":
                in_zone = {i.name for i in Inventory(fleet).instances() if i.zone == "2"}
                assert set(injection.vms) == in_zone and len(in_zone) == 2
        elif fault in ("deallocate", "evict"):
            assert state_of(fleet, victim.name).power_state == "deallocated"
        elif fault == "break-extension":
            broken = health_settings(fleet, victim.name)
            assert broken["requestPath"] != original["requestPath"]
            assert {k: v for k, v in broken.items() if k != "requestPath"} == {
                k: v for k, v in original.items() if k != "requestPath"
            }
            wait_for(
                lambda: state_of(fleet, victim.name).health_state == "unhealthy",
                timeout=20,
                what="the broken extension to report unhealthy",
            )
        else:  # restart, redeploy: done and back by themselves, nothing left to revert
            assert state_of(fleet, victim.name).running
            assert chaos.open_entries == []
    assert journal.open_entries() == []
    assert all(r.ok for r in chaos.reverted)
    wait_settled(fleet)
    assert health_settings(fleet, victim.name) == original
    report = drift(before, snapshot(fleet))
    assert report.none, report.text()


def test_exception_inside_the_block_still_reverts(fleet: FleetTarget, tmp_path: Path) -> None:
    victim = pick(fleet)
    journal = Journal(tmp_path / "journal.jsonl")
    with pytest.raises(RuntimeError, match="experiment crashed"), Injector(fleet, journal) as chaos:
        chaos.inject("deallocate", Selection(names=(victim.name,)))
        raise RuntimeError("experiment crashed")
    assert journal.open_entries() == []
    assert state_of(fleet, victim.name).power_state == "running"
    wait_settled(fleet)


def test_parallel_faults_on_different_vms(fleet: FleetTarget, tmp_path: Path) -> None:
    """Two injectors at once (threads), each reverting its own VM only."""
    from concurrent.futures import ThreadPoolExecutor

    before = snapshot(fleet)
    regular = [i.name for i in Inventory(fleet).instances() if not i.spot][:2]
    journal = Journal(tmp_path / "journal.jsonl")

    def run(fault: str, vm: str) -> str:
        with Injector(fleet, journal, GuardLimits("100%", 0.0), handle_signals=False) as chaos:
            chaos.inject(fault, Selection(names=(vm,)))
            return state_of(fleet, vm).power_state

    with ThreadPoolExecutor(2) as pool:
        states = list(pool.map(run, ["stop", "deallocate"], regular))
    assert states == ["stopped", "deallocated"]
    assert journal.open_entries() == []
    wait_settled(fleet)
    assert drift(before, snapshot(fleet)).none
