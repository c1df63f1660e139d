"""The emulator's Microsoft.Chaos routes, driven by the raw ChaosManagementClient: targets and
capabilities, experiment validation, the service-side checks that fail an execution (missing
capability, the Uniform-only scale-set fault on a Flexible set), conflicts and delete, and the
discrete VM redeploy fault (on a small emulator of its own, so that its truth is its own).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.chaos import models

from emulator.launcher import RunningEmulator
from fleet.clients import Clients
from fleet.inventory import Inventory
from fleet.target import FleetTarget
from tests.conftest import TEST_TIME_SCALE, clients_for
from tests.fleet.support import wait_settled
from tests.waiting import wait_for

VM_TARGET = "Microsoft-VirtualMachine"
VMSS_TARGET = "Microsoft-VirtualMachineScaleSet"
VM_SHUTDOWN = "urn:csci:microsoft:virtualMachine:shutdown/1.0"
VM_REDEPLOY = "urn:csci:microsoft:virtualMachine:redeploy/1.0"
REDEPLOY_S = 90  # the default topology's redeploy timing, platform seconds
TERMINAL = ("success", "failed", "cancelled")


@pytest.fixture(scope="module")
def fleet(emulator: RunningEmulator) -> FleetTarget:
    target = FleetTarget.from_emulator(emulator.info)
    wait_settled(target, 6)
    return target


def vm_args(target: FleetTarget, vm: str) -> tuple[str, str, str, str, str]:
    return (target.resource_group, "Microsoft.Compute", "virtualMachines", vm, VM_TARGET)


def experiment(target_ids: list[str], urn: str = VM_SHUTDOWN, **action: Any) -> Any:
    references = [models.TargetReference(type="ChaosTarget", id=t) for t in target_ids]
    selector = models.ChaosTargetListSelector(id="s1", targets=references)
    fault = models.ContinuousAction(
        name=urn,
        duration=action.get("duration", timedelta(seconds=30)),
        parameters=[models.KeyValuePair(key="abruptShutdown", value="true")],
        selector_id=action.get("selector_id", "s1"),
    )
    return models.Experiment(
        location="eastus",
        identity=models.ManagedServiceIdentity(type="SystemAssigned"),
        selectors=[selector],
        steps=[
            models.ChaosExperimentStep(
                name="step1", branches=[models.ChaosExperimentBranch(name="b1", actions=[fault])]
            )
        ],
    )


def run_to_end(clients: Clients, rg: str, name: str) -> models.ExperimentExecutionDetails:
    """Start, find the execution (begin_start returns None), wait for a terminal status."""
    assert clients.chaos.experiments.begin_start(rg, name).result(timeout=30) is None
    [execution] = list(clients.chaos.experiments.list_all_executions(rg, name))[:1]

    def ended() -> bool:
        status = clients.chaos.experiments.get_execution(rg, name, execution.name).status
        return str(status).lower() in TERMINAL

    wait_for(ended, timeout=30, what=f"{name} to end")
    return clients.chaos.experiments.execution_details(rg, name, execution.name)


def test_targets_and_capabilities_crud(clients: Clients, fleet: FleetTarget) -> None:
    chaos = clients.chaos
    vm = Inventory(fleet).instances()[0]
    args = vm_args(fleet, vm.name)
    created = chaos.targets.create_or_update(*args, models.Target(properties={}))
    assert created.id == f"{vm.id}/providers/Microsoft.Chaos/targets/{VM_TARGET}"
    assert created.type == "Microsoft.Chaos/targets"
    assert [t.name for t in chaos.targets.list(*args[:4])] == [VM_TARGET]
    capability = chaos.capabilities.create_or_update(*args, "Shutdown-1.0", models.Capability())
    assert capability.urn == VM_SHUTDOWN and capability.target_type == "VirtualMachine"
    assert [c.name for c in chaos.capabilities.list(*args)] == ["Shutdown-1.0"]
    chaos.capabilities.delete(*args, "Shutdown-1.0")
    with pytest.raises(ResourceNotFoundError):
        chaos.capabilities.get(*args, "Shutdown-1.0")
    chaos.targets.delete(*args)
    with pytest.raises(ResourceNotFoundError):
        chaos.targets.get(*args)
    # a VM that does not exist, a target type that does not fit the parent, an unknown capability
    with pytest.raises(ResourceNotFoundError):
        chaos.targets.create_or_update(*vm_args(fleet, "no-such-vm"), models.Target(properties={}))
    wrong = (*args[:4], VMSS_TARGET)
    with pytest.raises(HttpResponseError) as bad:
        chaos.targets.create_or_update(*wrong, models.Target(properties={}))
    assert bad.value.status_code == 400
    chaos.targets.create_or_update(*args, models.Target(properties={}))
    with pytest.raises(HttpResponseError) as unknown:
        chaos.capabilities.create_or_update(*args, "CpuPressure-1.0", models.Capability())
    assert unknown.value.status_code == 400


def test_missing_capability_fails_the_execution_and_touches_nothing(
    emulator: RunningEmulator, clients: Clients, fleet: FleetTarget
) -> None:
    rg, chaos = fleet.resource_group, clients.chaos
    vm = Inventory(fleet).instances()[1]
    chaos.targets.create_or_update(*vm_args(fleet, vm.name), models.Target(properties={}))
    target_id = f"{vm.id}/providers/Microsoft.Chaos/targets/{VM_TARGET}"
    chaos.experiments.begin_create_or_update(rg, "no-capability", experiment([target_id])).result()
    before = len(emulator.client.truth(kind="power_state", vm=vm.name))

    details = run_to_end(clients, rg, "no-capability").properties

    assert details.status == "Failed"
    assert "CapabilityNotEnabled" in details.failure_reason
    assert "Shutdown-1.0" in details.failure_reason
    [target] = details.run_information.steps[0].branches[0].actions[0].targets
    assert target.status == "Failed" and target.error.code == "CapabilityNotEnabled"
    assert len(emulator.client.truth(kind="power_state", vm=vm.name)) == before


def test_scale_set_shutdown_on_flexible_fails_with_the_uniform_only_message(
    emulator: RunningEmulator, clients: Clients, fleet: FleetTarget
) -> None:
    rg, chaos = fleet.resource_group, clients.chaos
    args = (rg, "Microsoft.Compute", "virtualMachineScaleSets", fleet.scale_set, VMSS_TARGET)
    target = chaos.targets.create_or_update(*args, models.Target(properties={}))
    chaos.capabilities.create_or_update(*args, "Shutdown-2.0", models.Capability())
    urn = "urn:csci:microsoft:virtualMachineScaleSet:shutdown/2.0"
    body = experiment([target.id], urn=urn)
    chaos.experiments.begin_create_or_update(rg, "vmss-shutdown", body).result()
    before = len(emulator.client.truth(kind="power_state"))

    details = run_to_end(clients, rg, "vmss-shutdown").properties

    assert details.status == "Failed"
    assert "Uniform" in details.failure_reason and "Flexible" in details.failure_reason
    assert VM_SHUTDOWN in details.failure_reason
    assert len(emulator.client.truth(kind="power_state")) == before


def test_experiment_validation_conflicts_and_delete(clients: Clients, fleet: FleetTarget) -> None:
    rg, chaos = fleet.resource_group, clients.chaos
    vm = Inventory(fleet).instances()[2]
    args = vm_args(fleet, vm.name)
    chaos.targets.create_or_update(*args, models.Target(properties={}))
    chaos.capabilities.create_or_update(*args, "Shutdown-1.0", models.Capability())
    target_id = f"{vm.id}/providers/Microsoft.Chaos/targets/{VM_TARGET}"
    for bad in (
        experiment([target_id], duration=timedelta(hours=13)),
        experiment([target_id], selector_id="nope"),
    ):
        with pytest.raises(HttpResponseError) as refused:
            chaos.experiments.begin_create_or_update(rg, "invalid", bad)
        assert refused.value.status_code == 400
    with pytest.raises(ResourceNotFoundError):
        chaos.experiments.get(rg, "invalid")

    body = experiment([target_id], duration=timedelta(hours=1))
    made = chaos.experiments.begin_create_or_update(rg, "long", body).result()
    assert made.provisioning_state == "Succeeded" and made.identity.principal_id
    assert "long" in [e.name for e in chaos.experiments.list(rg)]
    chaos.experiments.begin_start(rg, "long").result()
    assert [e.name for e in chaos.experiments.list(rg, running=True)] == ["long"]
    with pytest.raises(ResourceExistsError):
        chaos.experiments.begin_start(rg, "long")
    with pytest.raises(ResourceExistsError):
        chaos.experiments.begin_delete(rg, "long")
    chaos.experiments.begin_cancel(rg, "long").result(timeout=30)
    [execution] = list(chaos.experiments.list_all_executions(rg, "long"))
    assert execution.status == "Cancelled" and execution.stopped_at is not None
    assert list(chaos.experiments.list(rg, running=True)) == []
    assert Inventory(fleet).sample().by_name()[vm.name].power_state == "running"

    chaos.experiments.begin_delete(rg, "long").result(timeout=30)
    with pytest.raises(ResourceNotFoundError):
        chaos.experiments.get(rg, "long")
    with pytest.raises(ResourceNotFoundError):
        chaos.experiments.get_execution(rg, "long", execution.name)


def test_steps_run_in_order_with_delay_and_redeploy(
    emulator: RunningEmulator, clients: Clients, fleet: FleetTarget
) -> None:
    rg, chaos = fleet.resource_group, clients.chaos
    vm = Inventory(fleet).instances()[3]
    args = vm_args(fleet, vm.name)
    chaos.targets.create_or_update(*args, models.Target(properties={}))
    chaos.capabilities.create_or_update(*args, "Redeploy-1.0", models.Capability())
    target_id = f"{vm.id}/providers/Microsoft.Chaos/targets/{VM_TARGET}"
    delay = models.DelayAction(
        name="urn:csci:microsoft:chaosStudio:timedDelay/1.0", duration=timedelta(seconds=20)
    )
    redeploy = models.DiscreteAction(
        name="urn:csci:microsoft:virtualMachine:redeploy/1.0", parameters=[], selector_id="s1"
    )
    body = experiment([target_id])
    body.steps = [
        models.ChaosExperimentStep(
            name=name, branches=[models.ChaosExperimentBranch(name="b", actions=[action])]
        )
        for name, action in (("wait", delay), ("redeploy", redeploy))
    ]
    chaos.experiments.begin_create_or_update(rg, "ordered", body).result()

    details = run_to_end(clients, rg, "ordered").properties

    assert details.status == "Success", details.failure_reason
    waited, redeployed = (s.branches[0].actions[0] for s in details.run_information.steps)
    assert waited.status == redeployed.status == "Succeeded"
    assert waited.end_time <= redeployed.start_time
    # asyncio may wake a timer up to its clock resolution early: allow 10 %
    assert (waited.end_time - waited.start_time).total_seconds() >= 20 * 0.02 * 0.9
    events = emulator.client.truth(kind="power_state", vm=vm.name)
    after = [e["to"] for e in events if e["time"] >= redeployed.start_time.timestamp()]
    assert after == ["deallocating", "starting", "running"], events


# ----- the VM redeploy fault (discrete) -------------------------------------------------------


@pytest.fixture(scope="module")
def small(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    """Four Regular VMs of its own: the redeploy tests read its truth without interference."""
    return start_emulator("[scale_set]\nvm_count = 4\nspot_count = 0\n")


def enable_redeploy(clients: Clients, rg: str, vm_name: str) -> str:
    """Target and Redeploy-1.0 capability on the VM, as the client does; the target id."""
    args = (rg, "Microsoft.Compute", "virtualMachines", vm_name, VM_TARGET)
    target = clients.chaos.targets.create_or_update(*args, models.Target(properties={}))
    capability = clients.chaos.capabilities.create_or_update(
        *args, "Redeploy-1.0", models.Capability()
    )
    assert capability.urn == VM_REDEPLOY and capability.target_type == "VirtualMachine"
    return target.id


def redeploy_experiment(target_ids: list[str], location: str) -> Any:
    """The experiment exactly as the client (fleet) builds it: one List selector, one step, one
    branch, one DiscreteAction(name=urn, parameters=[], selector_id=...)."""
    selector = models.ChaosTargetListSelector(
        id="flexchaos-vms",
        targets=[models.TargetReference(type="ChaosTarget", id=t) for t in target_ids],
    )
    action = models.DiscreteAction(name=VM_REDEPLOY, parameters=[], selector_id=selector.id)
    branch = models.ChaosExperimentBranch(name="redeploy", actions=[action])
    return models.Experiment(
        location=location,
        identity=models.ManagedServiceIdentity(type="SystemAssigned"),
        selectors=[selector],
        steps=[models.ChaosExperimentStep(name="redeploy", branches=[branch])],
        tags={"created-by": "flexchaos"},
    )


def after(events: list[dict[str, Any]], moment: Any) -> list[str]:
    return [e["to"] for e in events if e["time"] >= moment.timestamp()]


def test_redeploy_fault_runs_each_vm_through_redeploy(small: RunningEmulator) -> None:
    clients, info = clients_for(small), small.info
    rg = info.resource_group
    first, second = sorted(vm.name for vm in clients.compute.virtual_machines.list_all())[:2]
    targets = [enable_redeploy(clients, rg, vm) for vm in (first, second)]
    body = redeploy_experiment(targets, info.location)
    made = clients.chaos.experiments.begin_create_or_update(rg, "redeploy", body).result()
    [sent] = made.steps[0].branches[0].actions
    assert isinstance(sent, models.DiscreteAction) and sent.type == "discrete"
    assert (sent.name, sent.parameters, sent.selector_id) == (VM_REDEPLOY, [], "flexchaos-vms")

    details = run_to_end(clients, rg, "redeploy")

    assert details.properties.status == "Success", details.properties.failure_reason
    [execution] = clients.chaos.experiments.list_all_executions(rg, "redeploy")
    assert execution.name == details.name
    assert clients.chaos.experiments.get_execution(rg, "redeploy", execution.name).status == (
        "Success"
    )
    [action] = details.properties.run_information.steps[0].branches[0].actions
    assert (action.action_name, action.status) == (VM_REDEPLOY, "Succeeded")
    assert [(t.target, t.status) for t in action.targets] == [(t, "Succeeded") for t in targets]
    assert all(t.target_completed_time <= action.end_time for t in action.targets)
    # asyncio may wake a timer up to its clock resolution early: allow 10 %
    lasted = (action.end_time - action.start_time).total_seconds()
    assert lasted >= REDEPLOY_S * TEST_TIME_SCALE * 0.9
    for vm in (first, second):
        events = small.client.truth(kind="power_state", vm=vm)
        assert after(events, action.start_time) == ["deallocating", "starting", "running"], events
        accepted = small.client.truth(kind="operation_accepted", vm=vm)
        assert [e["operation"] for e in accepted] == ["redeploy"]
        completed = small.client.truth(kind="operation_completed", vm=vm)
        assert [(e["operation"], e["status"]) for e in completed] == [("redeploy", "Succeeded")]
    statuses = [
        e["status"]
        for e in small.client.truth(kind="chaos_execution")
        if e["execution_id"] == execution.name
    ]
    assert statuses == ["PreProcessingQueued", "WaitingToStart", "Running", "Success"]


def test_redeploy_fault_fails_on_a_vm_that_is_not_running(small: RunningEmulator) -> None:
    clients, info = clients_for(small), small.info
    rg, vms = info.resource_group, clients.compute.virtual_machines
    running, stopped = sorted(vm.name for vm in vms.list_all())[1:3]
    vms.begin_power_off(rg, stopped).result()
    targets = [enable_redeploy(clients, rg, vm) for vm in (running, stopped)]
    body = redeploy_experiment(targets, info.location)
    clients.chaos.experiments.begin_create_or_update(rg, "redeploy-stopped", body).result()

    details = run_to_end(clients, rg, "redeploy-stopped").properties

    assert details.status == "Failed"
    assert details.failure_reason.startswith("ActionFailed: ")
    assert f"VM '{stopped}' since the VM is stopped" in details.failure_reason
    [action] = details.run_information.steps[0].branches[0].actions
    ok, refused = action.targets
    assert (ok.target, ok.status) == (targets[0], "Succeeded")
    assert (refused.target, refused.status) == (targets[1], "Failed")
    assert refused.error.code == "OperationNotAllowed" and refused.target_failed_time
    assert action.status == "Failed"
    # the running VM went through its redeploy; the stopped one was not touched
    events = small.client.truth(kind="power_state", vm=running)
    assert after(events, action.start_time) == ["deallocating", "starting", "running"]
    assert after(small.client.truth(kind="power_state", vm=stopped), action.start_time) == []
    vms.begin_start(rg, stopped).result()


def test_redeploy_fault_fails_when_the_vm_is_gone(small: RunningEmulator) -> None:
    clients, info = clients_for(small), small.info
    rg, vms = info.resource_group, clients.compute.virtual_machines
    gone = sorted(vm.name for vm in vms.list_all())[-1]
    target = enable_redeploy(clients, rg, gone)
    body = redeploy_experiment([target], info.location)
    clients.chaos.experiments.begin_create_or_update(rg, "redeploy-gone", body).result()
    vms.begin_delete(rg, gone).result()

    details = run_to_end(clients, rg, "redeploy-gone").properties

    assert details.status == "Failed"
    assert details.failure_reason.startswith("ResourceNotFound: ")
    [refused] = details.run_information.steps[0].branches[0].actions[0].targets
    assert refused.status == "Failed" and refused.error.code == "ResourceNotFound"
    assert small.client.truth(kind="operation_accepted", vm=gone)[-1]["operation"] == "delete"


def test_each_fault_needs_its_action_type(small: RunningEmulator) -> None:
    clients, info = clients_for(small), small.info
    rg = info.resource_group
    vm = sorted(vm.name for vm in clients.compute.virtual_machines.list_all())[0]
    target = enable_redeploy(clients, rg, vm)
    continuous_redeploy = experiment([target], urn=VM_REDEPLOY)
    discrete_shutdown = redeploy_experiment([target], info.location)
    discrete_shutdown.steps[0].branches[0].actions[0].name = VM_SHUTDOWN
    for body in (continuous_redeploy, discrete_shutdown):
        with pytest.raises(HttpResponseError) as refused:
            clients.chaos.experiments.begin_create_or_update(rg, "wrong-type", body)
        assert refused.value.status_code == 400
        assert refused.value.error.code == "BadRequest"
    with pytest.raises(ResourceNotFoundError):
        clients.chaos.experiments.get(rg, "wrong-type")
