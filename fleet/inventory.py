"""What the scale set holds right now, read through one VM listing per sample.

Flexible sets have no scale-set instance view, so the only cheap way to see every VM's power
and health state is `virtual_machines.list(rg, filter=<set id>, expand="instanceView")`: one
call per sample (plus its pages), never one call per VM. The parsing works on the wire-format
dict (`model.as_dict()`), so it is the same for Azure and the emulator and testable offline.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from azure.core.rest import HttpRequest

from fleet.azure_errors import translated
from fleet.budget import LIST_VMS_POLICY, reserve
from fleet.call_log import Stamped
from fleet.target import FleetTarget
from flexchaos.errors import BudgetExhausted, NotFound

MAX_PAGES = 1000  # a listing's pages followed at most (a 1000-VM set: 20)
FALLBACK_LIST_API_VERSION = "2024-07-01"
HEALTH_EXTENSION_TYPES = ("ApplicationHealthLinux", "ApplicationHealthWindows")
HEALTH_EXTENSION_PUBLISHER = "Microsoft.ManagedServices"
TRANSITIONAL_POWER_STATES = ("starting", "stopping", "deallocating", "creating", "deleting")


@dataclass(frozen=True)
class HealthExtension:
    """A VM's Application Health extension; settings None when the listing did not carry them."""

    name: str
    type: str
    publisher: str | None = None
    type_handler_version: str | None = None
    settings: dict[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True)
class Instance:
    """One VM of the set, as one listing showed it."""

    name: str
    id: str
    zone: str | None
    fault_domain: int | None
    priority: str  # "Regular" | "Spot"
    eviction_policy: str | None
    power_state: str  # running, stopped, deallocated, starting, stopping, deallocating, unknown
    health_state: str | None  # healthy, unhealthy, initializing, unknown; None = no extension
    provisioning_state: str | None
    tags: dict[str, str] = field(default_factory=dict, hash=False)
    vm_size: str | None = None
    health_extension: HealthExtension | None = None
    scale_set_id: str | None = None

    @property
    def running(self) -> bool:
        return self.power_state == "running"

    @property
    def healthy(self) -> bool:
        """Running and not reported unwell (a VM without the extension counts by power alone)."""
        return self.running and self.health_state in ("healthy", None)

    @property
    def spot(self) -> bool:
        return self.priority == "Spot"

    @classmethod
    def from_vm(cls, vm: Mapping[str, Any]) -> Instance:
        """Parse one VM of a listing (wire format, with or without its instance view)."""
        props = vm.get("properties") or {}
        view = props.get("instanceView") or {}
        zones = vm.get("zones") or []
        fault_domain = view.get("platformFaultDomain", props.get("platformFaultDomain"))
        priority = props.get("priority") or "Regular"
        return cls(
            name=vm["name"],
            id=vm.get("id", ""),
            zone=str(zones[0]) if zones else None,
            fault_domain=int(fault_domain) if fault_domain is not None else None,
            priority="Spot" if priority in ("Spot", "Low") else "Regular",
            eviction_policy=props.get("evictionPolicy"),
            power_state=power_state(view.get("statuses") or []),
            health_state=health_state(view),
            provisioning_state=props.get("provisioningState"),
            tags=dict(vm.get("tags") or {}),
            vm_size=(props.get("hardwareProfile") or {}).get("vmSize"),
            health_extension=health_extension(vm),
            scale_set_id=(props.get("virtualMachineScaleSet") or {}).get("id"),
        )


def power_state(statuses: list[Mapping[str, Any]]) -> str:
    """'PowerState/running' → 'running'; 'unknown' when the view carries no power state."""
    for status in statuses:
        code = str(status.get("code") or "")
        if code.startswith("PowerState/"):
            return code.split("/", 1)[1].lower()
    return "unknown"


def health_state(view: Mapping[str, Any]) -> str | None:
    """'HealthState/healthy' → 'healthy'; None when the VM reports no health (no extension)."""
    code = str(((view.get("vmHealth") or {}).get("status") or {}).get("code") or "")
    if not code:
        return None
    return code.split("/", 1)[-1].lower()


def is_health_extension(ext_type: str | None) -> bool:
    """True for 'ApplicationHealthLinux' and, as instance views spell it,
    'Microsoft.ManagedServices.ApplicationHealthLinux' (and the Windows twins)."""
    return bool(ext_type) and str(ext_type).rsplit(".", 1)[-1] in HEALTH_EXTENSION_TYPES


def health_extension(vm: Mapping[str, Any]) -> HealthExtension | None:
    """The Application Health extension from the VM's resources (with settings) or else from
    its instance view (name and type only)."""
    for resource in vm.get("resources") or []:
        props = resource.get("properties") or {}
        if is_health_extension(props.get("type")):
            return extension_from_resource(resource)
    view = (vm.get("properties") or {}).get("instanceView") or {}
    for ext in view.get("extensions") or []:
        if is_health_extension(ext.get("type")):
            return HealthExtension(name=ext["name"], type=ext["type"])
    return None


def extension_from_resource(resource: Mapping[str, Any]) -> HealthExtension:
    props = resource.get("properties") or {}
    name = resource.get("name") or ""
    return HealthExtension(
        name=name.rsplit("/", 1)[-1],
        type=props.get("type", ""),
        publisher=props.get("publisher"),
        type_handler_version=props.get("typeHandlerVersion"),
        settings=dict(props["settings"]) if props.get("settings") is not None else None,
    )


@dataclass(frozen=True)
class ScaleSet:
    """The parts of the scale set the harness decides on; raw keeps the whole wire body."""

    name: str
    id: str
    orchestration_mode: str
    tags: dict[str, str] = field(hash=False)
    zones: tuple[str, ...]
    raw: dict[str, Any] = field(hash=False, compare=False)

    @property
    def flexible(self) -> bool:
        return self.orchestration_mode == "Flexible"

    @classmethod
    def from_wire(cls, body: Mapping[str, Any]) -> ScaleSet:
        props = body.get("properties") or {}
        return cls(
            name=body.get("name", ""),
            id=body.get("id", ""),
            orchestration_mode=props.get("orchestrationMode") or "Uniform",
            tags=dict(body.get("tags") or {}),
            zones=tuple(str(z) for z in body.get("zones") or ()),
            raw=dict(body),
        )


@dataclass(frozen=True)
class Sample:
    """One listing: when it was taken (epoch seconds) and every instance in it."""

    time: float
    instances: tuple[Instance, ...]

    def by_name(self) -> dict[str, Instance]:
        return {i.name: i for i in self.instances}


def vm_filter(scale_set_id: str) -> str:
    return f"'virtualMachineScaleSet/id' eq '{scale_set_id}'"


class Inventory:
    """Reads the target's scale set and its VMs; never mutates anything."""

    def __init__(self, target: FleetTarget, *, paced: bool = False) -> None:
        self.target = target
        self.pages = 0  # pages of the latest listing (the SDK follows nextLink: one GET each)
        self.paced = paced  # skip a listing the List VMs budget can no longer afford

    def scale_set(self) -> ScaleSet:
        """GET the scale set: a missing set is a one-line error (fleet.guard refuses Uniform)."""
        t = self.target
        try:
            with translated(f"read scale set '{t.scale_set}'"):
                body = t.clients.compute.virtual_machine_scale_sets.get(
                    t.resource_group, t.scale_set
                )
        except NotFound as exc:
            raise NotFound(
                f"scale set '{t.scale_set}' not found in resource group '{t.resource_group}' "
                f"(subscription {t.subscription_id}); check the scale set and resource group names",
                status=404,
                code=exc.code,
            ) from exc
        return ScaleSet.from_wire(body.as_dict())

    def raw_vms(self, *, expand_instance_view: bool = True) -> list[dict[str, Any]]:
        """One listing of the set's VMs (the SDK follows nextLink: one GET per page)."""
        t = self.target
        if self.paced:
            left = t.clients.call_log.left(LIST_VMS_POLICY)
            if left is not None and left < reserve(self.pages):
                raise BudgetExhausted(
                    f"listing skipped: Compute's List VMs budget has {left} requests left "
                    f"(a listing takes {self.pages})"
                )
        expand = "instanceView" if expand_instance_view else None
        with translated(f"list the VMs of scale set '{t.scale_set}'"):
            vms, self.pages = list_vms_raw(t, vm_filter(t.scale_set_id), expand)
        return vms

    def sample(self) -> Sample:
        """One listing, stamped with the time its answer describes (`CallLog.answered_at`: the
        middle of its last attempt, so a listing the SDK retried is not dated back to its first
        send; the pages of a large set span their own fetch time)."""
        sent = time.time()
        vms = self.raw_vms()
        taken = self.target.clients.call_log.answered_at(sent)
        return Sample(taken, tuple(sorted((Instance.from_vm(v) for v in vms), key=_order)))

    def instances(self) -> Stamped:
        sample = self.sample()
        return Stamped(sample.instances, sample.time)


def list_vms_raw(
    target: FleetTarget, filter_: str, expand: str | None
) -> tuple[list[dict[str, Any]], int]:
    """The VM listing through the compute client's own pipeline (auth, retries, the call log),
    pages followed by nextLink, kept as wire-format JSON: the SDK's model deserialization of a
    1000-VM listing costs ~1 s of CPU per listing (5-20 s on a loaded machine), longer than the
    capacity tick, for dicts the harness turns straight back into wire format."""
    compute = target.clients.compute
    params = {"api-version": list_api_version(), "$filter": filter_}
    if expand:
        params["$expand"] = expand
    url: str | None = (
        f"/subscriptions/{target.subscription_id}/resourceGroups/{target.resource_group}"
        "/providers/Microsoft.Compute/virtualMachines"
    )
    vms: list[dict[str, Any]] = []
    pages = 0
    while url and pages < MAX_PAGES:
        request = HttpRequest("GET", url, params=params if pages == 0 else None)
        response = compute.send_request(request)
        response.raise_for_status()
        body = response.json()
        vms.extend(body.get("value") or [])
        pages += 1
        url = body.get("nextLink")  # carries its own api-version (azure-behaviour.md §6)
    return vms, pages


def list_api_version() -> str:
    """The api-version the installed compute SDK sends for VM listings."""
    try:
        from azure.mgmt.compute.operations import _operations

        request = _operations.build_virtual_machines_list_request("rg", "sub")
        return str(request.url.split("api-version=", 1)[1].split("&", 1)[0])
    except (ImportError, AttributeError, IndexError, TypeError):
        return FALLBACK_LIST_API_VERSION


def _order(instance: Instance) -> tuple[str, str]:
    return (instance.zone or "", instance.name)
