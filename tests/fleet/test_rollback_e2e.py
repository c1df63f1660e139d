"""Crash safety: harness processes killed with SIGKILL while their faults are in, then
`flexchaos rollback` (a subprocess) brings the fleet back, and a second rollback does nothing.

All seven faults run at once, each in its own harness process on its own VMs, into one
journal; restart and redeploy are killed mid-operation (as soon as their entry is journaled),
the others once they print INJECTED.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.launcher import RunningEmulator
from fleet.evidence import drift, snapshot
from fleet.inventory import Inventory
from fleet.journal import Journal
from fleet.operations import VmOps
from fleet.target import FleetTarget
from tests.fleet.support import flexchaos, mutating_calls_since, now, target_of, wait_settled
from tests.harness_process import HarnessProcess
from tests.waiting import wait_for

HARNESS = Path(__file__).with_name("harness.py")
TOPOLOGY = """
[scale_set]
vm_count = 12
spot_count = 3
[automatic_repairs]
enabled = true
grace_period = "PT90M"
"""
MID_FLIGHT = ("restart", "redeploy")


class Harness(HarnessProcess):
    """tests/fleet/harness.py injecting one fault; its stdout lines are collected."""

    def __init__(
        self,
        emulator: RunningEmulator,
        journal: Path,
        fault: str,
        vms: list[str],
        zone: str | None = None,
    ) -> None:
        self.fault, self.vms = fault, vms
        args = ["--arm-url", emulator.info.arm_url, "--journal", str(journal), "--fault", fault]
        args += [a for vm in vms for a in ("--vm", vm)]
        if zone is not None:
            args += ["--zone", zone]
        super().__init__(HARNESS, args)

    def said(self, word: str) -> bool:
        if not any(word in x for x in self.lines):
            self.fail_if_exited(f"harness {self.fault}")
        return any(line.startswith(word) for line in self.lines)


@pytest.fixture(scope="module")
def world(start_emulator: Callable[..., RunningEmulator]) -> tuple[RunningEmulator, FleetTarget]:
    emulator = start_emulator(TOPOLOGY)
    target = target_of(emulator)
    wait_settled(target, 12)
    return emulator, target


def assignments(target: FleetTarget) -> dict[str, tuple[list[str], str | None]]:
    """Disjoint VMs per fault: a whole zone for zone-down, a Spot VM for evict."""
    instances = Inventory(target).instances()
    spot = next(i for i in instances if i.spot)
    zone = next(z for z in ("1", "2", "3") if z != spot.zone)
    regular = [i.name for i in instances if not i.spot and i.zone != zone]
    return {
        "zone-down": ([], zone),
        "evict": ([spot.name], None),
        "stop": ([regular[0]], None),
        "deallocate": ([regular[1]], None),
        "break-extension": ([regular[2]], None),
        "restart": ([regular[3]], None),
        "redeploy": ([regular[4]], None),
    }


def journaled(journal: Journal, vm: str) -> bool:
    return any(r.get("vm") == vm and r["record"] == "injected" for r in journal.records())


def test_sigkill_then_rollback_restores_every_fault(
    world: tuple[RunningEmulator, FleetTarget], tmp_path: Path
) -> None:
    emulator, target = world
    before = snapshot(target)
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    plan = assignments(target)
    original = VmOps(target).health_extension(plan["break-extension"][0][0])
    harnesses = [Harness(emulator, path, f, vms, zone) for f, (vms, zone) in plan.items()]
    harnesses.sort(key=lambda h: h.fault not in MID_FLIGHT)  # catch those mid-operation first
    for h in harnesses:
        if h.fault in MID_FLIGHT:
            wait_for(
                lambda h=h: journaled(journal, h.vms[0]),
                timeout=60,
                what=f"{h.fault}'s journal entry",
            )
        else:
            wait_for(lambda h=h: h.said("INJECTED"), timeout=60, what=f"{h.fault} injected")
        assert h.kill() == -signal.SIGKILL

    # the faults are in and nothing reverted them
    states = Inventory(target).sample().by_name()
    assert states[plan["stop"][0][0]].power_state == "stopped"
    assert states[plan["deallocate"][0][0]].power_state == "deallocated"
    assert states[plan["evict"][0][0]].power_state == "deallocated"
    zone = plan["zone-down"][1]
    assert {i.power_state for i in states.values() if i.zone == zone} == {"stopped"}
    broken = VmOps(target).health_extension(plan["break-extension"][0][0])
    assert broken is not None and original is not None
    assert broken["properties"]["settings"] != original["properties"]["settings"]
    open_faults = {e.fault for e in journal.open_entries()}
    assert open_faults == {
        "zone-down",
        "evict",
        "stop",
        "deallocate",
        "break-extension",
        "restart",
        "redeploy",
    }

    first = flexchaos("rollback", "--journal", str(path))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "FAILED" not in first.stdout
    for f, (vms, _) in plan.items():
        for vm in vms:
            assert vm in first.stdout, f"{f} on {vm} not reported:\n{first.stdout}"
    assert "restart has no revert" in first.stdout
    assert journal.open_entries() == []

    wait_settled(target, 12)
    after = snapshot(target)
    report = drift(before, after)
    assert report.none, report.text()

    mark = now()
    second = flexchaos("rollback", "--journal", str(path))
    assert second.returncode == 0
    assert "nothing to roll back" in second.stdout
    assert mutating_calls_since(emulator.client, mark) == []


def test_sigterm_makes_the_harness_revert_by_itself(
    world: tuple[RunningEmulator, FleetTarget], tmp_path: Path
) -> None:
    emulator, target = world
    path = tmp_path / "journal.jsonl"
    vm = next(i.name for i in Inventory(target).instances() if not i.spot)
    harness = Harness(emulator, path, "deallocate", [vm])
    wait_for(lambda: harness.said("INJECTED"), timeout=60, what="deallocate injected")
    assert Inventory(target).sample().by_name()[vm].power_state == "deallocated"
    assert harness.kill(signal.SIGTERM) == 128 + signal.SIGTERM
    assert any(line.startswith("REVERTED") for line in harness.lines)
    assert Journal(path).open_entries() == []
    assert Inventory(target).sample().by_name()[vm].power_state == "running"
    wait_settled(target, 12)


def test_kill_mid_power_off_then_rollback_waits_and_starts(
    world: tuple[RunningEmulator, FleetTarget], tmp_path: Path
) -> None:
    emulator, target = world
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    vm = next(i.name for i in Inventory(target).instances() if not i.spot)
    harness = Harness(emulator, path, "stop", [vm])
    wait_for(lambda: journaled(journal, vm), timeout=60, what="the stop's journal entry")
    harness.kill()
    result = flexchaos("rollback", "--journal", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{vm}" in result.stdout
    assert Inventory(target).sample().by_name()[vm].power_state == "running"
    assert journal.open_entries() == []
    wait_settled(target, 12)
