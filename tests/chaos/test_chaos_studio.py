"""Chaos Studio shutdowns through fleet/chaos_studio.py, driven by the real ChaosManagementClient
over HTTP against the emulator: the full lifecycle checked against ground truth, a cancel
mid-run, a harness killed with SIGKILL then `flexchaos rollback`, and the scale-set fault
refused on a Flexible set before any call.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from emulator.launcher import RunningEmulator
from fleet.chaos_studio import (
    CAPABILITY,
    FAULT,
    TARGET_TYPE,
    VM_SHUTDOWN_URN,
    ChaosStudioShutdown,
    target_reference_id,
)
from fleet.inventory import Instance, Inventory
from fleet.journal import Journal
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


def test_full_lifecycle(emulator: RunningEmulator, settled: FleetTarget, tmp_path: Path) -> None:
    target = settled
    journal = Journal(tmp_path / "journal.jsonl")
    vms = regular(target)
    names = [i.name for i in vms]
    shutdown = ChaosStudioShutdown(target, journal, experiment_name="lifecycle")
    seen: list[str] = []
    outcome = shutdown.run(vms, duration_s=60, abrupt=True, on_status=seen.append)

    assert outcome.succeeded, outcome.failure_reason
    assert outcome.target_statuses() == {n: "Succeeded" for n in names}
    # targets and capabilities are enabled on each VM
    chaos, rg = target.clients.chaos, target.resource_group
    for name in names:
        args = (rg, "Microsoft.Compute", "virtualMachines", name, TARGET_TYPE)
        assert chaos.targets.get(*args).name == TARGET_TYPE
        assert chaos.capabilities.get(*args, CAPABILITY).urn == VM_SHUTDOWN_URN
    # the experiment: a List selector with the VMs, one continuous shutdown action
    experiment = chaos.experiments.get(rg, "lifecycle").as_dict()
    assert experiment["provisioning_state"] == "Succeeded"
    [selector] = experiment["selectors"]
    assert selector["type"] == "List"
    assert [t["id"] for t in selector["targets"]] == [target_reference_id(i.id) for i in vms]
    [step] = experiment["steps"]
    [branch] = step["branches"]
    [action] = branch["actions"]
    assert action["type"] == "continuous" and action["name"] == VM_SHUTDOWN_URN
    assert action["parameters"] == [{"key": "abruptShutdown", "value": "true"}]
    assert action["duration"] == "PT1M"
    # the execution went through every status, in order
    [execution] = list(chaos.experiments.list_all_executions(rg, "lifecycle"))
    truth = execution_statuses(emulator, execution.name)
    assert [s for _, s in truth] == ["PreProcessingQueued", "WaitingToStart", "Running", "Success"]
    assert "Running" in seen and seen[-1] == "Success"
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
    # journaled before start, closed after
    records = journal.records()
    assert [r["record"] for r in records] == ["injected", "reverted"]
    assert records[0]["fault"] == FAULT and records[0]["revert"]["vms"] == names
    assert records[0]["time"] <= truth[0][0]
    assert journal.open_entries() == []


def test_cancel_mid_run_brings_the_vms_back(
    emulator: RunningEmulator, settled: FleetTarget, tmp_path: Path
) -> None:
    target = settled
    journal = Journal(tmp_path / "journal.jsonl")
    names = [i.name for i in regular(target)]
    shutdown = ChaosStudioShutdown(target, journal, experiment_name="cancelled")
    run = shutdown.start(names, duration_s=3600, abrupt=False)
    assert journal.open_entries()[0].revert["experiment"] == "cancelled"
    wait_for(lambda: power_states(target, names) == {"stopped"}, timeout=30, what="the VMs to stop")
    assert shutdown.status(run) == "Running"

    outcome = shutdown.cancel()

    assert outcome.status == "Cancelled"
    assert power_states(target, names) == {"running"}
    truth = [s for _, s in execution_statuses(emulator, run.execution_id)]
    assert truth[-3:] == ["Running", "Cancelling", "Cancelled"]
    for name in names:
        events = emulator.client.truth(kind="power_state", vm=name)
        off = next(e for e in events if e["to"] == "stopped" and e["time"] >= run.requested_at)
        assert any(e["to"] == "running" and e["time"] > off["time"] for e in events)
        leaving = next(
            e for e in events if e["from"] == "running" and e["time"] >= run.requested_at
        )
        assert leaving["graceful"] is True  # abrupt=False: a graceful shutdown
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
    assert entry.fault == FAULT and entry.revert["vms"] == names
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
def test_scale_set_shutdown_fault_refused_on_flexible_before_any_call(
    emulator: RunningEmulator, fleet: FleetTarget, tmp_path: Path, version: str
) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    shutdown = ChaosStudioShutdown(fleet, journal)
    mark = now()
    fault = f"urn:csci:microsoft:virtualMachineScaleSet:shutdown/{version}"
    with pytest.raises(FlexchaosError) as refused:
        shutdown.start(["any-vm"], 60, fault=fault)
    message = str(refused.value)
    assert "\n" not in message
    assert fault in message and "Uniform" in message
    assert VM_SHUTDOWN_URN in message and TARGET_TYPE in message
    arm_calls = [e for e in emulator.client.requests()["log"] if e["time"] >= mark]
    assert arm_calls == []
    assert mutating_calls_since(emulator.client, mark) == []
    assert journal.records() == []


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda s: s.start([], 60), "at least one VM"),
        (lambda s: s.start(["x"], 0), "duration"),
        (lambda s: s.start(["x"], 13 * 3600), "12 h"),
        (lambda s: s.start(["x"], 60, fault="urn:csci:microsoft:agent:cpuPressure/1.0"), "fault"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    emulator: RunningEmulator,
    fleet: FleetTarget,
    tmp_path: Path,
    call: Callable[[ChaosStudioShutdown], Any],
    expected: str,
) -> None:
    shutdown = ChaosStudioShutdown(fleet, Journal(tmp_path / "journal.jsonl"))
    mark = now()
    with pytest.raises(FlexchaosError, match=expected) as refused:
        call(shutdown)
    assert "\n" not in str(refused.value)
    assert mutating_calls_since(emulator.client, mark) == []


def test_guard_refuses_a_vm_outside_the_set(
    emulator: RunningEmulator, fleet: FleetTarget, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    mark = now()
    with pytest.raises(FlexchaosError, match="membership"):
        ChaosStudioShutdown(fleet, journal).start(["not-in-the-set"], 60)
    assert mutating_calls_since(emulator.client, mark) == []
    assert journal.records() == []


def test_calls_describe_the_plan_without_calling(fleet: FleetTarget, tmp_path: Path) -> None:
    shutdown = ChaosStudioShutdown(fleet, Journal(tmp_path / "j.jsonl"), experiment_name="p")
    calls = shutdown.calls(["vm-a", "vm-b"], 120, abrupt=True)
    assert sum("vm-a" in c or "vm-b" in c for c in calls) == 2
    assert any("PT120S" in c and "abruptShutdown=true" in c for c in calls)
    assert any(c.startswith("journal:") for c in calls)
