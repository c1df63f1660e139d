"""Chaos Studio faults through the one injector (fleet/faults/chaos_studio.py), driven by the
real ChaosManagementClient over HTTP against the emulator: the full lifecycle checked against
ground truth, a cancel mid-run, a harness killed with SIGKILL then `flexchaos rollback`, SIGTERM
during a hold, the VM redeploy fault, and bad input refused before any call.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emulator.launcher import RunningEmulator
from fleet.faults import fault
from fleet.faults.chaos_studio import (
    TARGET_TYPE,
    VM_REDEPLOY_URN,
    VM_SHUTDOWN_URN,
    ChaosStudioFault,
    target_reference_id,
)
from fleet.guard import GuardLimits
from fleet.injector import Injection, Injector
from fleet.inventory import Instance, Inventory
from fleet.journal import Journal
from fleet.selection import Selection
from fleet.target import FleetTarget
from flexchaos.errors import FlexchaosError
from tests.fleet.support import flexchaos, mutating_calls_since, now, wait_settled
from tests.harness_process import HarnessProcess
from tests.waiting import wait_for

HARNESS = Path(__file__).with_name("harness.py")
SIZE = 6


@pytest.fixture(scope="module")
def fleet(emulator: RunningEmulator) -> FleetTarget:
    target = FleetTarget.from_emulator(emulator.info)
    wait_settled(target, SIZE)
    return target


@pytest.fixture
def settled(fleet: FleetTarget) -> FleetTarget:
    """The fleet, every VM running and healthy before the test starts."""
    wait_settled(fleet, SIZE)
    return fleet


def regular(target: FleetTarget, count: int = 2) -> list[Instance]:
    return [i for i in Inventory(target).instances() if not i.spot][:count]


def power_states(target: FleetTarget, names: list[str]) -> set[str]:
    by_name = Inventory(target).sample().by_name()
    return {by_name[n].power_state for n in names}


def execution_statuses(emulator: RunningEmulator, execution_id: str) -> list[tuple[float, str]]:
    return [
        (e["time"], e["status"])
        for e in emulator.client.truth(kind="chaos_execution")
        if e["execution_id"] == execution_id
    ]


def execution_of(injection: Injection) -> str:
    [effect] = injection.effects.values()
    return str(effect.detail["execution_id"])


def injector(target: FleetTarget, journal: Journal) -> Injector:
    return Injector(target, journal, GuardLimits("100%", 0.0))


def test_full_lifecycle(emulator: RunningEmulator, settled: FleetTarget, tmp_path: Path) -> None:
    target = settled
    journal = Journal(tmp_path / "journal.jsonl")
    vms = regular(target)
    names = [i.name for i in vms]
    with injector(target, journal) as chaos:
        injection = chaos.inject(
            "chaos-shutdown", Selection(names=tuple(names)), hold_s=60,
            experiment="lifecycle", abrupt=True,
        )  # fmt: skip
        end = chaos.hold(injection, wall_s=emulator.info.time_scale * 60, tick_s=0.05)
        assert end.aborted is None and "Success" in end.detail
        results = chaos.revert(injection)

    assert [r.ok for r in results] == [True] and "not running (Success)" in results[0].outcome
    # targets and capabilities are enabled on each VM
    chaos_client, rg = target.clients.chaos, target.resource_group
    for name in names:
        args = (rg, "Microsoft.Compute", "virtualMachines", name, TARGET_TYPE)
        assert chaos_client.targets.get(*args).name == TARGET_TYPE
        assert chaos_client.capabilities.get(*args, "Shutdown-1.0").urn == VM_SHUTDOWN_URN
    # the experiment: a List selector with the VMs, one continuous shutdown action
    experiment = chaos_client.experiments.get(rg, "lifecycle").as_dict()
    assert experiment["provisioning_state"] == "Succeeded"
    [selector] = experiment["selectors"]
    assert selector["type"] == "List"
    assert sorted(t["id"] for t in selector["targets"]) == sorted(
        target_reference_id(i.id) for i in vms
    )
    [step] = experiment["steps"]
    [branch] = step["branches"]
    [action] = branch["actions"]
    assert action["type"] == "continuous" and action["name"] == VM_SHUTDOWN_URN
    assert action["parameters"] == [{"key": "abruptShutdown", "value": "true"}]
    assert action["duration"] == "PT1M"
    # the execution went through every status, in order; the hold saw it end
    execution = execution_of(injection)
    truth = execution_statuses(emulator, execution)
    assert [s for _, s in truth] == ["PreProcessingQueued", "WaitingToStart", "Running", "Success"]
    seen = [s for _, s in injection.effects[injection.entries[0].id].detail["statuses"]]
    assert seen[-1] == "Success"
    assert injection.requested_at <= truth[0][0]
    # the failover clock starts when the service started the action, not at begin_start: the
    # action starts once the execution runs, and it is what powers the VMs off
    landed = chaos.landed_at(injection)
    assert landed is not None and truth[2][0] - 0.05 <= landed
    first_off = min(
        e["time"]
        for name in names
        for e in emulator.client.truth(kind="power_state", vm=name)
        if e["from"] == "running" and e["time"] >= truth[2][0]
    )
    assert landed <= first_off + 0.05 and landed - injection.requested_at > 0
    # each VM was powered off (abruptly) while Running, and started again before Success
    running_at, success_at = truth[2][0], truth[3][0]
    for name in names:
        events = emulator.client.truth(kind="power_state", vm=name)
        stopped = [e for e in events if e["to"] == "stopped" and running_at <= e["time"]]
        assert stopped and stopped[0]["time"] <= success_at, events
        leaving = [e for e in events if e["from"] == "running" and e["time"] >= running_at]
        assert leaving and leaving[0]["graceful"] is False
        back = [e for e in events if e["to"] == "running" and e["time"] >= stopped[0]["time"]]
        assert back and back[0]["time"] <= success_at
    assert power_states(target, names) == {"running"}
    # one journal entry for the experiment, written before the start, closed after
    records = journal.records()
    assert [r["record"] for r in records] == ["injected", "landed", "reverted"]
    assert records[0]["fault"] == "chaos-shutdown" and records[0]["revert"]["vms"] == sorted(names)
    assert records[0]["time"] <= truth[0][0]
    assert journal.open_entries() == []


def test_cancel_mid_run_brings_the_vms_back(
    emulator: RunningEmulator, settled: FleetTarget, tmp_path: Path
) -> None:
    target = settled
    journal = Journal(tmp_path / "journal.jsonl")
    names = [i.name for i in regular(target)]
    with injector(target, journal) as chaos:
        injection = chaos.inject(
            "chaos-shutdown", Selection(names=tuple(names)), hold_s=3600, experiment="cancelled"
        )
        assert journal.open_entries()[0].revert["experiment"] == "cancelled"
        wait_for(
            lambda: power_states(target, names) == {"stopped"}, timeout=30, what="the VMs to stop"
        )
        end = chaos.hold(injection, wall_s=0.0, tick_s=0.05, abort=lambda: "a test abort")
        assert end.aborted == "a test abort"
        [result] = chaos.revert(injection)

    assert result.ok and "cancelled experiment cancelled" in result.outcome
    assert power_states(target, names) == {"running"}
    truth = [s for _, s in execution_statuses(emulator, execution_of(injection))]
    assert truth[-3:] == ["Running", "Cancelling", "Cancelled"]
    for name in names:
        events = emulator.client.truth(kind="power_state", vm=name)
        since = injection.requested_at
        off = next(e for e in events if e["to"] == "stopped" and e["time"] >= since)
        assert any(e["to"] == "running" and e["time"] > off["time"] for e in events)
        leaving = next(e for e in events if e["from"] == "running" and e["time"] >= since)
        assert leaving["graceful"] is True  # abrupt=False: a graceful shutdown
    assert journal.open_entries() == []


def test_redeploy_fault_moves_the_vm_and_ends_by_itself(
    emulator: RunningEmulator, settled: FleetTarget, tmp_path: Path
) -> None:
    target = settled
    journal = Journal(tmp_path / "journal.jsonl")
    [vm] = [i.name for i in regular(target, 1)]
    with injector(target, journal) as chaos:
        injection = chaos.inject("chaos-redeploy", Selection(names=(vm,)), experiment="moved")
        end = chaos.hold(injection, wall_s=emulator.info.time_scale * 300, tick_s=0.05)
        assert "Success" in end.detail, end
        chaos.revert(injection)
    [action] = target.clients.chaos.experiments.get(target.resource_group, "moved").as_dict()[
        "steps"
    ][0]["branches"][0]["actions"]
    assert action["type"] == "discrete" and action["name"] == VM_REDEPLOY_URN
    events = emulator.client.truth(kind="power_state", vm=vm)
    left = [e for e in events if e["from"] == "running" and e["time"] >= injection.requested_at]
    assert left, events  # the VM really went through the redeploy
    assert power_states(target, [vm]) == {"running"}
    assert journal.open_entries() == []


class Harness(HarnessProcess):
    """tests/chaos/harness.py as a subprocess; its stdout lines are collected."""

    def __init__(
        self, emulator: RunningEmulator, journal: Path, vms: list[str], *extra: str
    ) -> None:
        args = ["--arm-url", emulator.info.arm_url, *extra, "--journal", str(journal)]
        super().__init__(HARNESS, args + [a for vm in vms for a in ("--vm", vm)])

    def started(self) -> str | None:
        if not self.lines:
            self.fail_if_exited("harness")
        return next((x.split()[2] for x in self.lines if x.startswith("STARTED")), None)

    def said(self, line: str) -> bool:
        return line in self.lines


def test_sigkill_mid_experiment_then_rollback(
    emulator: RunningEmulator, settled: FleetTarget, tmp_path: Path
) -> None:
    target = settled
    path = tmp_path / "journal.jsonl"
    journal = Journal(path)
    names = [i.name for i in regular(target, 3)]
    harness = Harness(emulator, path, names)
    try:
        execution_id = wait_for(harness.started, timeout=60, what="the harness to start")
        wait_for(
            lambda: power_states(target, names) == {"stopped"},
            timeout=30,
            what="the experiment to stop the VMs",
        )
    finally:
        assert harness.kill() == -signal.SIGKILL

    [entry] = journal.open_entries()
    assert entry.fault == "chaos-shutdown" and entry.revert["vms"] == sorted(names)
    chaos, rg = target.clients.chaos, target.resource_group
    assert chaos.experiments.get_execution(rg, "flexchaos-killed", execution_id).status == "Running"

    first = flexchaos("rollback", "--journal", str(path))

    assert first.returncode == 0, first.stdout + first.stderr
    assert "cancelled experiment flexchaos-killed" in first.stdout, first.stdout
    assert "FAILED" not in first.stdout
    status = chaos.experiments.get_execution(rg, "flexchaos-killed", execution_id).status
    assert status == "Cancelled"
    assert {i.power_state for i in Inventory(target).instances()} == {"running"}
    assert journal.open_entries() == []

    mark = now()
    second = flexchaos("rollback", "--journal", str(path))
    assert second.returncode == 0
    assert "nothing to roll back" in second.stdout
    assert mutating_calls_since(emulator.client, mark) == []


def test_sigterm_during_run_cancels_the_experiment(
    emulator: RunningEmulator, settled: FleetTarget, tmp_path: Path
) -> None:
    target = settled
    path = tmp_path / "journal.jsonl"
    names = [i.name for i in regular(target, 1)]
    harness = Harness(emulator, path, names, "--run", "--experiment", "terminated")
    try:
        wait_for(lambda: harness.said("STATUS Running"), timeout=60, what="the run to be Running")
        wait_for(lambda: power_states(target, names) == {"stopped"}, timeout=30, what="VM down")
    finally:
        code = harness.kill(signal.SIGTERM)
    assert code == 128 + signal.SIGTERM, harness.lines
    assert any(line.startswith("CANCELLED") for line in harness.lines)
    chaos, rg = target.clients.chaos, target.resource_group
    [execution] = list(chaos.experiments.list_all_executions(rg, "terminated"))
    assert execution.status == "Cancelled"
    assert power_states(target, names) == {"running"}
    assert Journal(path).open_entries() == []


@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_scale_set_faults_cannot_be_declared(version: str) -> None:
    urn = f"urn:csci:microsoft:virtualMachineScaleSet:shutdown/{version}"
    with pytest.raises(FlexchaosError) as refused:
        ChaosStudioFault("vmss", urn, "Shutdown-2.0", summary="", continuous=True)
    message = str(refused.value)
    assert "\n" not in message and urn in message and "Uniform" in message
    assert TARGET_TYPE in message


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda i: i.inject("chaos-shutdown", Selection(zone="9")), "matched none"),
        (lambda i: i.inject("chaos-shutdown", Selection(count=1), hold_s=0), "duration"),
        (lambda i: i.inject("chaos-shutdown", Selection(count=1), hold_s=13 * 3600), "12 h"),
        (lambda i: i.inject("chaos-shutdown", Selection(count=1), colour="red"), "no option"),
        (lambda i: i.inject("chaos-shutdwn", Selection(count=1)), "did you mean"),
        (lambda i: i.inject("chaos-shutdown", Selection(names=("not-in-the-set",))), "membership"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    emulator: RunningEmulator,
    fleet: FleetTarget,
    tmp_path: Path,
    call: Callable[[Injector], Any],
    expected: str,
) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    mark = now()
    with pytest.raises(FlexchaosError, match=expected) as refused, injector(fleet, journal) as i:
        call(i)
    assert "\n" not in str(refused.value)
    assert mutating_calls_since(emulator.client, mark) == []
    assert journal.records() == []


def test_plan_describes_the_calls_without_calling(
    emulator: RunningEmulator, fleet: FleetTarget
) -> None:
    mark = now()
    plan = Injector(fleet).plan(
        "chaos-shutdown", Selection(count=2, priority="Regular"), hold_s=120, abrupt=True
    )
    text = plan.text()
    assert all(vm in text for vm in plan.selected.names) and len(plan.selected.names) == 2
    assert "PT120S" in text and "abruptShutdown=true" in text and "journal" in text
    assert "discrete" in fault("chaos-redeploy").plan_calls(fleet, ["a"], {}, 60).shared[1]
    assert mutating_calls_since(emulator.client, mark) == []
