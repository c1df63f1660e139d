"""The emulator's control plane driven by the real azure-mgmt-compute client over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.mgmt.compute.models import VirtualMachineExtension, VirtualMachineExtensionProperties

from emulator.launcher import RunningEmulator
from fleet.clients import Clients
from tests.conftest import clients_for
from tests.waiting import wait_for

# The default fleet with small pages, so six VMs span two pages.
TOPOLOGY = """
[scale_set]
page_size = 4
"""

VMS_ROUTE = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.Compute/virtualMachines"
)


@pytest.fixture(scope="module")
def emulator(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    return start_emulator(TOPOLOGY)


def _scale_set_id(emulator: RunningEmulator) -> str:
    i = emulator.info
    return (
        f"/subscriptions/{i.subscription_id}/resourceGroups/{i.resource_group}"
        f"/providers/Microsoft.Compute/virtualMachineScaleSets/{i.scale_set}"
    )


def _list(clients: Clients, emulator: RunningEmulator) -> list[Any]:
    # Upper-case id: ARM ids compare case-insensitively.
    flt = f"'virtualMachineScaleSet/id' eq '{_scale_set_id(emulator).upper()}'"
    return list(
        clients.compute.virtual_machines.list(
            emulator.info.resource_group, filter=flt, expand="instanceView"
        )
    )


def _vm_named(clients: Clients, emulator: RunningEmulator, priority: str, index: int = 0) -> str:
    names = [vm.name for vm in _list(clients, emulator) if vm.priority == priority]
    return names[index]


def _power(clients: Clients, emulator: RunningEmulator, name: str) -> str:
    view = clients.compute.virtual_machines.instance_view(emulator.info.resource_group, name)
    codes = [s.code for s in view.statuses if s.code.startswith("PowerState/")]
    return codes[0]


def test_list_by_scale_set_with_instance_views_spans_pages(
    clients: Clients, emulator: RunningEmulator
) -> None:
    before = emulator.client.requests()["counters"].get(f"GET {VMS_ROUTE}", 0)
    vms = _list(clients, emulator)
    after = emulator.client.requests()["counters"][f"GET {VMS_ROUTE}"]
    assert len(vms) == 6
    assert after - before == 2  # page 1 + the nextLink page
    assert len({vm.name for vm in vms}) == 6
    assert all(vm.name.startswith(f"{emulator.info.scale_set}_") for vm in vms)
    assert sorted(vm.priority for vm in vms) == ["Regular"] * 4 + ["Spot"] * 2
    assert {vm.zones[0] for vm in vms} == {"1", "2", "3"}
    for vm in vms:
        assert vm.virtual_machine_scale_set.id.lower() == _scale_set_id(emulator).lower()
        codes = [s.code for s in vm.instance_view.statuses]
        assert codes == ["ProvisioningState/succeeded", "PowerState/running"]
        assert vm.instance_view.vm_health.status.code == "HealthState/healthy"
        assert vm.instance_view.extensions[0].name == "ApplicationHealthLinux"
        assert vm.instance_view.platform_fault_domain in (0, 1, 2)
    other = "'virtualMachineScaleSet/id' eq '/subscriptions/x/resourceGroups/y/providers/z'"
    assert list(clients.compute.virtual_machines.list("rg-flexchaos", filter=other)) == []


def test_scale_set_shape(clients: Clients, emulator: RunningEmulator) -> None:
    vmss = clients.compute.virtual_machine_scale_sets.get(
        emulator.info.resource_group, emulator.info.scale_set
    )
    assert vmss.orchestration_mode == "Flexible"
    assert vmss.platform_fault_domain_count == 1
    assert vmss.zones == ["1", "2", "3"]
    assert vmss.sku.capacity == 6
    assert vmss.tags == {"chaos": "allowed"}
    policy = vmss.automatic_repairs_policy
    assert (policy.enabled, policy.grace_period, policy.repair_action) == (True, "PT10M", "Replace")
    ext = vmss.virtual_machine_profile.extension_profile.extensions[0]
    assert ext.properties.type == "ApplicationHealthLinux"
    assert ext.properties.settings["requestPath"] == "/health"
    listed = list(clients.compute.virtual_machine_scale_sets.list(emulator.info.resource_group))
    assert [s.name for s in listed] == [emulator.info.scale_set]


def test_flexible_scale_set_instance_view_is_not_allowed(
    clients: Clients, emulator: RunningEmulator
) -> None:
    with pytest.raises(ResourceExistsError) as caught:
        clients.compute.virtual_machine_scale_sets.get_instance_view(
            emulator.info.resource_group, emulator.info.scale_set
        )
    assert caught.value.error.code == "OperationNotAllowed"
    assert "VirtualMachineScaleSets.instanceView.GET" in caught.value.error.message


def test_power_off_then_start(clients: Clients, emulator: RunningEmulator) -> None:
    vms = clients.compute.virtual_machines
    rg = emulator.info.resource_group
    name = _vm_named(clients, emulator, "Regular", 0)
    vms.begin_power_off(rg, name).result()
    assert _power(clients, emulator, name) == "PowerState/stopped"
    transitions = [
        (e["from"], e["to"], e["graceful"])
        for e in emulator.client.truth(kind="power_state", vm=name)
    ]
    assert transitions == [("running", "stopping", True), ("stopping", "stopped", False)]
    vms.begin_power_off(rg, name).result()  # already stopped: a no-op success
    vms.begin_start(rg, name).result()
    assert _power(clients, emulator, name) == "PowerState/running"
    completed = emulator.client.truth(kind="operation_completed", vm=name)
    assert [e["operation"] for e in completed] == ["powerOff", "powerOff", "start"]
    assert all(e["status"] == "Succeeded" for e in completed)


def test_power_off_skip_shutdown_is_abrupt(clients: Clients, emulator: RunningEmulator) -> None:
    rg = emulator.info.resource_group
    name = _vm_named(clients, emulator, "Regular", 3)
    clients.compute.virtual_machines.begin_power_off(rg, name, skip_shutdown=True).result()
    first = emulator.client.truth(kind="power_state", vm=name)[0]
    assert (first["from"], first["graceful"]) == ("running", False)
    clients.compute.virtual_machines.begin_start(rg, name).result()


def test_deallocate_then_start(clients: Clients, emulator: RunningEmulator) -> None:
    vms = clients.compute.virtual_machines
    rg = emulator.info.resource_group
    name = _vm_named(clients, emulator, "Regular", 1)
    vms.begin_deallocate(rg, name).result()
    vm = vms.get(rg, name, expand="instanceView")
    assert [s.code for s in vm.instance_view.statuses][1] == "PowerState/deallocated"
    assert vm.instance_view.vm_health is None
    vms.begin_start(rg, name).result()
    assert _power(clients, emulator, name) == "PowerState/running"


def test_power_off_while_start_in_progress_conflicts(
    clients: Clients, emulator: RunningEmulator
) -> None:
    vms = clients.compute.virtual_machines
    rg = emulator.info.resource_group
    name = _vm_named(clients, emulator, "Regular", 2)
    vms.begin_power_off(rg, name).result()
    starting = vms.begin_start(rg, name)
    with pytest.raises(ResourceExistsError) as caught:
        vms.begin_power_off(rg, name)
    assert caught.value.error.code == "OperationNotAllowed"
    assert "another operation is in progress" in caught.value.error.message
    starting.result()
    assert _power(clients, emulator, name) == "PowerState/running"
    with pytest.raises(ResourceExistsError):  # restart needs a running VM: deallocate first
        vms.begin_deallocate(rg, name).result()
        vms.begin_restart(rg, name)
    vms.begin_start(rg, name).result()


def test_simulate_eviction_on_spot_deallocates_after_notice(
    clients: Clients, emulator: RunningEmulator
) -> None:
    rg = emulator.info.resource_group
    name = _vm_named(clients, emulator, "Spot", 0)
    clients.compute.virtual_machines.simulate_eviction(rg, name)
    scheduled = emulator.client.truth(kind="eviction_scheduled", vm=name)
    assert len(scheduled) == 1
    assert _power(clients, emulator, name) == "PowerState/running"  # still in the notice
    wait_for(
        lambda: _power(clients, emulator, name) == "PowerState/deallocated",
        timeout=20,
        what="the Spot VM to be evicted",
    )
    evicted = emulator.client.truth(kind="evicted", vm=name)
    assert evicted[0]["policy"] == "Deallocate"
    assert evicted[0]["time"] >= scheduled[0]["not_before"]
    clients.compute.virtual_machines.begin_start(rg, name).result()


def test_simulate_eviction_on_regular_vm_is_refused(
    clients: Clients, emulator: RunningEmulator
) -> None:
    name = _vm_named(clients, emulator, "Regular", 0)
    with pytest.raises(ResourceExistsError) as caught:
        clients.compute.virtual_machines.simulate_eviction(emulator.info.resource_group, name)
    assert caught.value.error.code == "OperationNotAllowed"
    assert emulator.client.truth(kind="eviction_scheduled", vm=name) == []


def test_extension_put_patch_delete_round_trip(clients: Clients, emulator: RunningEmulator) -> None:
    exts = clients.compute.virtual_machine_extensions
    rg = emulator.info.resource_group
    name = _vm_named(clients, emulator, "Regular", 0)
    health = exts.get(rg, name, "ApplicationHealthLinux")
    assert health.properties.publisher == "Microsoft.ManagedServices"
    settings = dict(health.properties.settings)
    broken = {**settings, "requestPath": "/broken"}
    patched = exts.begin_update(
        rg, name, "ApplicationHealthLinux", {"properties": {"settings": broken}}
    ).result()
    assert patched.properties.settings["requestPath"] == "/broken"
    assert patched.properties.type == "ApplicationHealthLinux"

    custom = VirtualMachineExtension(
        location=emulator.info.location,
        properties=VirtualMachineExtensionProperties(
            publisher="Microsoft.Azure.Extensions",
            type="CustomScript",
            type_handler_version="2.1",
            settings={"commandToExecute": "true"},
        ),
    )
    created = exts.begin_create_or_update(rg, name, "custom", custom).result()
    assert created.properties.provisioning_state == "Succeeded"
    assert sorted(e.name for e in exts.list(rg, name).value) == ["ApplicationHealthLinux", "custom"]
    exts.begin_delete(rg, name, "custom").result()
    with pytest.raises(ResourceNotFoundError):
        exts.get(rg, name, "custom")
    restored = exts.begin_update(
        rg, name, "ApplicationHealthLinux", {"properties": {"settings": settings}}
    ).result()
    assert restored.properties.settings == settings
    updates = emulator.client.truth(kind="extension_updated", vm=name)
    assert [e["extension"] for e in updates] == [
        "ApplicationHealthLinux",
        "custom",
        "custom",
        "ApplicationHealthLinux",
    ]


def test_wrong_resource_group_and_unknown_vm_are_not_found(
    clients: Clients, emulator: RunningEmulator
) -> None:
    name = _vm_named(clients, emulator, "Regular", 0)
    with pytest.raises(ResourceNotFoundError):
        clients.compute.virtual_machines.get("rg-elsewhere", name)
    with pytest.raises(ResourceNotFoundError):
        clients.compute.virtual_machines.begin_power_off("rg-elsewhere", name)
    with pytest.raises(ResourceNotFoundError) as caught:
        clients.compute.virtual_machines.get(emulator.info.resource_group, "vmss-web_00000000")
    assert caught.value.error.code == "ResourceNotFound"


def test_every_sdk_call_succeeds_with_30_percent_429(
    clients: Clients, emulator: RunningEmulator
) -> None:
    rg = emulator.info.resource_group
    name = _vm_named(clients, emulator, "Regular", 1)
    emulator.client.set_control_faults(rate_429=0.3)
    try:
        for _ in range(10):  # ~30 requests: enough that 30 % of them is surely >= 3
            assert len(_list(clients, emulator)) == 6
            clients.compute.virtual_machines.get(rg, name, expand="instanceView")
        clients.compute.virtual_machines.begin_power_off(rg, name).result()
        clients.compute.virtual_machines.begin_start(rg, name).result()
    finally:
        emulator.client.set_control_faults()
    assert _power(clients, emulator, name) == "PowerState/running"
    statuses = [e["status"] for e in emulator.client.requests()["log"]]
    assert statuses.count(429) >= 3


def test_failing_listings_fail_through_every_retry(
    clients: Clients, emulator: RunningEmulator
) -> None:
    """For testing the harness's gaps: a failed listing fails however often the SDK retries."""
    name = _vm_named(clients, emulator, "Regular", 1)
    emulator.client.set_control_faults(listing_failure_rate=1.0)
    try:
        with pytest.raises(HttpResponseError) as failed:
            _list(clients, emulator)
        assert failed.value.status_code == 500
        clients.compute.virtual_machines.get(emulator.info.resource_group, name)  # GETs still work
    finally:
        emulator.client.set_control_faults()
    assert len(_list(clients, emulator)) == 6
    with pytest.raises(httpx.HTTPStatusError):
        emulator.client.set_control_faults(chaos_actions="sometimes")


def test_raw_http_contract(emulator: RunningEmulator) -> None:
    info = emulator.info
    base = (
        f"{info.arm_url}/subscriptions/{info.subscription_id}/resourceGroups/{info.resource_group}"
    )
    vms = f"{base}/providers/Microsoft.Compute/virtualMachines"
    auth = {"Authorization": f"Bearer {info.token}"}
    with httpx.Client(timeout=10) as http:
        missing_auth = http.get(vms, params={"api-version": "2026-04-01"})
        assert missing_auth.status_code == 401
        assert missing_auth.json()["error"]["code"] == "AuthenticationFailed"
        no_version = http.get(vms, headers=auth)
        assert no_version.status_code == 400
        assert no_version.json()["error"]["code"] == "MissingApiVersionParameter"
        page = http.get(vms, headers=auth, params={"api-version": "2026-04-01"}).json()
        assert "api-version=2026-04-01" in page["nextLink"]
        name = page["value"][0]["name"]
        action = http.post(
            f"{vms}/{name}/restart", headers=auth, params={"api-version": "2026-04-01"}
        )
        assert action.status_code == 202
        assert int(action.headers["Retry-After"]) >= 1
        assert int(action.headers["retry-after-ms"]) >= 1
        assert (
            "/providers/Microsoft.Compute/locations/eastus/operations/"
            in action.headers["Azure-AsyncOperation"]
        )
        conflict = http.post(
            f"{vms}/{name}/restart", headers=auth, params={"api-version": "2026-04-01"}
        )
        assert conflict.status_code == 409
        assert "Retry-After" not in conflict.headers
        status_url = action.headers["Azure-AsyncOperation"]
        status = wait_for(
            lambda: http.get(status_url, headers=auth).json()["status"] != "InProgress" and True,
            timeout=20,
            what="the restart to finish",
        )
        assert status
        assert http.get(status_url, headers=auth).json()["status"] == "Succeeded"
        assert http.get(action.headers["Location"], headers=auth).status_code == 200


def test_uniform_set_and_the_other_lifecycle_operations(
    start_emulator: Callable[..., RunningEmulator],
) -> None:
    """A second, small emulator: Uniform instance view, redeploy, reimage, delete, list_all."""
    other = start_emulator(
        '[scale_set]\norchestration_mode = "Uniform"\nvm_count = 2\nspot_count = 0\n',
        time_scale=0.01,
    )
    clients = clients_for(other)
    rg, vmss = other.info.resource_group, other.info.scale_set
    assert clients.compute.virtual_machine_scale_sets.get(rg, vmss).orchestration_mode == "Uniform"
    view = clients.compute.virtual_machine_scale_sets.get_instance_view(rg, vmss)
    assert view.virtual_machine.statuses_summary[0].code == "PowerState/running"
    first, second = (vm.name for vm in clients.compute.virtual_machines.list_all())
    vms = clients.compute.virtual_machines
    vms.begin_redeploy(rg, first).result()
    vms.begin_reimage(rg, first).result()
    vms.begin_delete(rg, second).result()
    with pytest.raises(ResourceNotFoundError):
        vms.get(rg, second)
    assert [vm.name for vm in vms.list_all()] == [first]
    assert other.client.truth(kind="vm_deleted")[0]["vm"] == second
    completed = [e["operation"] for e in other.client.truth(kind="operation_completed")]
    assert completed == ["redeploy", "reimage", "delete"]
