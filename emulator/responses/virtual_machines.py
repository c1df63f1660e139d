"""Microsoft.Compute/virtualMachines: list (filter by scale set, $expand=instanceView, paged),
GET, instanceView, power actions, simulateEviction and DELETE.

Flexible scale-set VMs are ordinary VMs whose properties.virtualMachineScaleSet.id names the set
(docs/azure-behaviour.md §1.2). Actions answer 202 with Azure-AsyncOperation and Location, or
200 when there is nothing to do (start on running, powerOff on stopped, deallocate on
deallocated).
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from emulator.models import Operation, VirtualMachine, World
from emulator.models.errors import InvalidParameter
from emulator.responses._arm import check_scope, check_subscription, iso, page, world
from emulator.responses._extension_render import render_extension, render_extension_instance_view
from emulator.responses.operations import accepted
from emulator.routing import Route

VMS = "/providers/Microsoft.Compute/virtualMachines"
RG_VMS = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}" + VMS
ONE = RG_VMS + "/{vmName}"

_FILTER = re.compile(r"^\s*'?virtualMachineScaleSet/id'?\s+eq\s+'([^']*)'\s*$", re.IGNORECASE)

_HEALTH_STATUS = {
    "Healthy": ("HealthState/healthy", "Info", "The VM is reporting itself as healthy"),
    "Unhealthy": (
        "HealthState/unhealthy",
        "Error",
        "The VM is reporting itself as unhealthy or is unreachable",
    ),
    "Initializing": ("HealthState/initializing", "Info", "The VM health is initializing"),
    "Unknown": ("HealthState/unknown", "Warning", "The VM health is unknown"),  # Rich states
}


def render_instance_view(vm: VirtualMachine) -> dict[str, Any]:
    provisioning = vm.provisioning_state.lower()
    view: dict[str, Any] = {
        "computerName": vm.computer_name,
        "osName": "ubuntu",
        "osVersion": "22.04",
        "platformFaultDomain": vm.fault_domain,
        "platformUpdateDomain": 0,
        "extensions": [render_extension_instance_view(vm, e) for e in vm.extensions.values()],
        "statuses": [
            {
                "code": f"ProvisioningState/{provisioning}",
                "level": "Info",
                "displayStatus": f"Provisioning {provisioning}",
                "time": iso(vm.operation.end_time if vm.operation else vm.time_created),
            },
            {
                "code": f"PowerState/{vm.power_state}",
                "level": "Info",
                "displayStatus": f"VM {vm.power_state}",
            },
        ],
    }
    if vm.health_state in _HEALTH_STATUS and vm.health_extension() is not None:
        code, level, display = _HEALTH_STATUS[vm.health_state]
        view["vmHealth"] = {"status": {"code": code, "level": level, "displayStatus": display}}
    return view


def render_vm(w: World, vm: VirtualMachine, instance_view: bool = False) -> dict[str, Any]:
    props: dict[str, Any] = {
        "vmId": vm.vm_id,
        "timeCreated": iso(vm.time_created),
        "provisioningState": vm.provisioning_state,
        "priority": vm.priority,
        "hardwareProfile": {"vmSize": vm.vm_size},
        "virtualMachineScaleSet": {"id": w.scale_set.id},
        "platformFaultDomain": vm.fault_domain,
        "osProfile": {"computerName": vm.computer_name, "adminUsername": "azureuser"},
        "storageProfile": {
            "osDisk": {"osType": "Linux", "name": f"{vm.name}_OsDisk", "createOption": "FromImage"}
        },
        "networkProfile": {
            "networkInterfaces": [
                {
                    "id": f"{w.scale_set.rg_prefix}/providers/Microsoft.Network/networkInterfaces/"
                    f"{vm.name}-nic",
                    "properties": {"primary": True},
                }
            ]
        },
    }
    if vm.priority == "Spot":
        props["evictionPolicy"] = vm.eviction_policy
        props["billingProfile"] = {"maxPrice": -1}
    if instance_view:
        props["instanceView"] = render_instance_view(vm)
    return {
        "id": vm.id,
        "name": vm.name,
        "type": "Microsoft.Compute/virtualMachines",
        "location": w.scale_set.location,
        "tags": dict(vm.tags),
        "zones": [vm.zone],
        "properties": props,
        "resources": [
            render_extension(vm, e, w.scale_set.location) for e in vm.extensions.values()
        ],
    }


def _wants_instance_view(request: web.Request) -> bool:
    expand = request.query.get("$expand")
    if expand is None:
        return request.query.get("statusOnly", "").lower() == "true"
    if expand.lower() != "instanceview":
        raise InvalidParameter(f"The value '{expand}' of $expand is not valid.")
    return True


def _filtered(request: web.Request, w: World) -> list[VirtualMachine]:
    text = request.query.get("$filter")
    if text is None:
        return w.vms()
    match = _FILTER.match(text)
    if match is None:
        raise InvalidParameter(
            f"The $filter '{text}' is not supported; use 'virtualMachineScaleSet/id' eq '<id>'."
        )
    return w.vms() if match.group(1).lower() == w.scale_set.id.lower() else []


def _list_response(request: web.Request, w: World) -> web.Response:
    expand = _wants_instance_view(request)
    vms, next_link = page(request, _filtered(request, w), w.topology.scale_set.page_size)
    body: dict[str, Any] = {"value": [render_vm(w, vm, expand) for vm in vms]}
    if next_link:
        body["nextLink"] = next_link
    return web.json_response(body)


async def list_vms(request: web.Request) -> web.Response:
    check_scope(request)
    return _list_response(request, world(request))


async def list_all_vms(request: web.Request) -> web.Response:
    check_subscription(request)
    return _list_response(request, world(request))


def _vm(request: web.Request) -> VirtualMachine:
    return world(request).get_vm(check_scope(request), request.match_info["vmName"])


async def get_vm(request: web.Request) -> web.Response:
    vm = _vm(request)
    return web.json_response(render_vm(world(request), vm, _wants_instance_view(request)))


async def instance_view(request: web.Request) -> web.Response:
    return web.json_response(render_instance_view(_vm(request)))


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "false").lower() == "true"


def _action(request: web.Request) -> Operation:
    w = world(request)
    name = _vm(request).name
    action = request.match_info["action"]
    if action == "powerOff":
        return w.begin_power_off(name, skip_shutdown=_flag(request, "skipShutdown"))
    if action == "deallocate":
        return w.begin_deallocate(name)
    if action == "start":
        return w.begin_start(name)
    if action == "restart":
        return w.begin_restart(name)
    if action == "redeploy":
        return w.begin_redeploy(name)
    return w.begin_reimage(name)


async def vm_action(request: web.Request) -> web.Response:
    return accepted(request, _action(request))


async def simulate_eviction(request: web.Request) -> web.Response:
    world(request).simulate_eviction(_vm(request).name)
    return web.Response(status=204)


async def delete_vm(request: web.Request) -> web.Response:
    return accepted(request, world(request).begin_delete(_vm(request).name))


ROUTES = [
    Route("GET", RG_VMS, list_vms),
    Route("GET", "/subscriptions/{subscriptionId}" + VMS, list_all_vms),
    Route("GET", ONE, get_vm),
    Route("DELETE", ONE, delete_vm),
    Route("GET", ONE + "/instanceView", instance_view),
    Route("POST", ONE + "/simulateEviction", simulate_eviction),
    Route("POST", ONE + "/{action:powerOff|deallocate|start|restart|redeploy|reimage}", vm_action),
]
