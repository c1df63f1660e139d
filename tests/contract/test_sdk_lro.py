"""The Python SDKs, as shipped, complete the emulator's long-running operations: clients built
with only a base URL and a bearer token (no short polling interval, no emulator polling hint),
so they poll as they would poll Azure, following Retry-After (docs/emulator.md "Contract
tests")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.chaos import ChaosManagementClient, models
from azure.mgmt.compute import ComputeManagementClient

from emulator.launcher import RunningEmulator
from fleet.clients import StaticBearerPolicy, StaticTokenCredential
from tests.waiting import wait_for


def _plain(cls: Any, emulator: RunningEmulator) -> Any:
    info = emulator.info
    return cls(
        StaticTokenCredential(info.token),
        info.subscription_id,
        base_url=info.arm_url,
        authentication_policy=StaticBearerPolicy(info.token),
    )


def _power(compute: ComputeManagementClient, rg: str, name: str) -> str:
    view = compute.virtual_machines.instance_view(rg, name)
    return next(s.code for s in view.statuses or [] if s.code.startswith("PowerState/"))


def test_plain_compute_client_completes_power_operations(emulator: RunningEmulator) -> None:
    compute = _plain(ComputeManagementClient, emulator)
    rg = emulator.info.resource_group
    name = next(v.name for v in compute.virtual_machines.list(rg) if v.priority == "Regular")
    compute.virtual_machines.begin_power_off(rg, name, skip_shutdown=True).result()
    assert _power(compute, rg, name) == "PowerState/stopped"
    compute.virtual_machines.begin_start(rg, name).result()
    assert _power(compute, rg, name) == "PowerState/running"
    running = compute.virtual_machines.begin_deallocate(rg, name)
    with pytest.raises(HttpResponseError) as refused:
        compute.virtual_machines.begin_start(rg, name)
    assert refused.value.error is not None and refused.value.error.code == "OperationNotAllowed"
    running.result()
    assert _power(compute, rg, name) == "PowerState/deallocated"


def test_plain_chaos_client_completes_every_call(emulator: RunningEmulator) -> None:
    compute = _plain(ComputeManagementClient, emulator)
    chaos = _plain(ChaosManagementClient, emulator)
    info = emulator.info
    rg = info.resource_group
    vm = next(v for v in compute.virtual_machines.list(rg) if v.priority == "Regular")
    args = (rg, "Microsoft.Compute", "virtualMachines", vm.name, "Microsoft-VirtualMachine")
    target = chaos.targets.create_or_update(*args, models.Target(properties={}))
    chaos.capabilities.create_or_update(*args, "Shutdown-1.0", models.Capability())
    action = models.ContinuousAction(
        name="urn:csci:microsoft:virtualMachine:shutdown/1.0",
        duration=timedelta(minutes=10),
        parameters=[models.KeyValuePair(key="abruptShutdown", value="true")],
        selector_id="s1",
    )
    experiment = models.Experiment(
        location=info.location,
        identity=models.ManagedServiceIdentity(type="SystemAssigned"),
        selectors=[
            models.ChaosTargetListSelector(
                id="s1", targets=[models.TargetReference(type="ChaosTarget", id=target.id)]
            )
        ],
        steps=[
            models.ChaosExperimentStep(
                name="step1", branches=[models.ChaosExperimentBranch(name="b1", actions=[action])]
            )
        ],
    )
    created = chaos.experiments.begin_create_or_update(rg, "sdk", experiment).result()
    assert created.provisioning_state == "Succeeded"
    chaos.experiments.begin_start(rg, "sdk").result()
    execution = next(iter(chaos.experiments.list_all_executions(rg, "sdk")))
    chaos.experiments.begin_cancel(rg, "sdk").result()
    wait_for(
        lambda: (
            str(chaos.experiments.get_execution(rg, "sdk", execution.name).status).lower()
            not in ("running", "cancelling")
        ),
        timeout=60,
        what="the canceled execution to stop",
    )
    chaos.experiments.begin_delete(rg, "sdk").result()
