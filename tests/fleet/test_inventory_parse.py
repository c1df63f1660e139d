"""Parsing one VM of a listing into an Instance: the fields every decision rests on."""

from __future__ import annotations

from fleet.inventory import Instance, ScaleSet, health_state, power_state, vm_filter
from tests.fleet import wire


def test_instance_fields_from_a_listed_vm() -> None:
    body = wire.vm(
        "vmss-web_0000000a",
        zone="2",
        fd=1,
        priority="Spot",
        tags={"role": "web"},
        settings={"protocol": "http", "port": 80, "requestPath": "/health"},
    )
    inst = Instance.from_vm(body)
    assert inst.name == "vmss-web_0000000a"
    assert inst.zone == "2" and inst.fault_domain == 1
    assert inst.priority == "Spot" and inst.eviction_policy == "Deallocate" and inst.spot
    assert inst.power_state == "running" and inst.health_state == "healthy"
    assert inst.running and inst.healthy
    assert inst.provisioning_state == "Succeeded"
    assert inst.tags == {"role": "web"}
    assert inst.vm_size == "Standard_D2s_v3"
    assert inst.scale_set_id == wire.SET_ID
    assert inst.health_extension is not None
    assert inst.health_extension.settings == {
        "protocol": "http",
        "port": 80,
        "requestPath": "/health",
    }


def test_extension_known_from_instance_view_only_has_no_settings() -> None:
    inst = Instance.from_vm(wire.vm("a"))
    assert inst.health_extension is not None
    assert inst.health_extension.name == "HealthExtension"
    assert inst.health_extension.settings is None


def test_instance_view_extension_type_may_carry_the_publisher() -> None:
    body = wire.vm("a")
    ext = body["properties"]["instanceView"]["extensions"][0]
    ext["type"] = "Microsoft.ManagedServices.ApplicationHealthLinux"
    extension = Instance.from_vm(body).health_extension
    assert extension is not None and extension.name == "HealthExtension"


def test_unhealthy_or_stopped_is_not_healthy() -> None:
    assert not Instance.from_vm(wire.vm("a", health="unhealthy")).healthy
    assert not Instance.from_vm(wire.vm("a", health="initializing")).healthy
    stopped = Instance.from_vm(wire.vm("a", power="stopped", health=None))
    assert stopped.power_state == "stopped" and not stopped.running and not stopped.healthy
    # without a health extension a running VM counts by its power state alone
    assert Instance.from_vm(wire.vm("a", health=None)).healthy


def test_low_priority_counts_as_spot_and_missing_zone_is_none() -> None:
    inst = Instance.from_vm(wire.vm("a", priority="Low", zone=None))
    assert inst.priority == "Spot" and inst.zone is None


def test_state_codes() -> None:
    assert (
        power_state([{"code": "ProvisioningState/updating"}, {"code": "PowerState/deallocating"}])
        == "deallocating"
    )
    assert power_state([]) == "unknown"
    assert health_state({"vmHealth": {"status": {"code": "HealthState/Unhealthy"}}}) == "unhealthy"
    assert health_state({}) is None


def test_scale_set_summary_and_filter() -> None:
    s = ScaleSet.from_wire(wire.scale_set(mode="Uniform", tags={"x": "y"}))
    assert not s.flexible and s.orchestration_mode == "Uniform" and s.tags == {"x": "y"}
    assert s.zones == ("1", "2", "3")
    assert vm_filter(wire.SET_ID) == f"'virtualMachineScaleSet/id' eq '{wire.SET_ID}'"
