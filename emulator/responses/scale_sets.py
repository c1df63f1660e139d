"""Microsoft.Compute/virtualMachineScaleSets: GET one (with its ETag), PATCH its tags (If-Match
honoured), list in a group or subscription, and instanceView (409 on Flexible, as Azure
answers)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.models import World
from emulator.models.errors import (
    BadRequest,
    InvalidRequestContent,
    OperationNotAllowed,
    ResourceNotFound,
)
from emulator.responses._arm import check_scope, check_subscription, iso, json_object, world
from emulator.routing import Route

SETS = "/providers/Microsoft.Compute/virtualMachineScaleSets"
RG_SETS = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}" + SETS
ONE = RG_SETS + "/{vmScaleSetName}"


def render_scale_set(w: World) -> dict[str, Any]:
    s = w.scale_set
    spec = w.topology.scale_set
    nic_config = {
        "name": f"{s.name}-nic",
        "properties": {
            "primary": True,
            "ipConfigurations": [
                {
                    "name": f"{s.name}-ipconfig",
                    "properties": {
                        "subnet": {
                            "id": f"{s.rg_prefix}/providers/Microsoft.Network/virtualNetworks/"
                            f"{s.name}-vnet/subnets/default"
                        },
                        "loadBalancerBackendAddressPools": [
                            {"id": f"{s.load_balancer_id}/backendAddressPools/backend"}
                        ],
                    },
                }
            ],
        },
    }
    extensions = [
        {
            "name": ext.name,
            "properties": {
                "publisher": ext.publisher,
                "type": ext.type,
                "typeHandlerVersion": ext.type_handler_version,
                "autoUpgradeMinorVersion": ext.auto_upgrade_minor_version,
                "settings": dict(ext.settings),
            },
        }
        for ext in s.profile_extensions().values()
    ]
    profile: dict[str, Any] = {
        "osProfile": {
            "computerNamePrefix": s.name.replace("-", "")[:9],
            "adminUsername": "azureuser",
        },
        "storageProfile": {
            "imageReference": {
                "publisher": "Canonical",
                "offer": "0001-com-ubuntu-server-jammy",
                "sku": "22_04-lts-gen2",
                "version": "latest",
            },
            "osDisk": {"createOption": "FromImage", "osType": "Linux"},
        },
        "networkProfile": {
            "networkApiVersion": "2020-11-01",
            "networkInterfaceConfigurations": [nic_config],
        },
        "extensionProfile": {"extensions": extensions},
    }
    props: dict[str, Any] = {
        "orchestrationMode": s.orchestration_mode,
        "platformFaultDomainCount": 1,
        "singlePlacementGroup": False,
        "virtualMachineProfile": profile,
        "automaticRepairsPolicy": {
            "enabled": s.automatic_repairs.enabled,
            "gracePeriod": s.automatic_repairs.grace_period,
            "repairAction": s.automatic_repairs.repair_action,
        },
        "provisioningState": "Succeeded",
        "uniqueId": s.unique_id,
        "timeCreated": iso(s.time_created),
    }
    if spec.spot_count:
        props["priorityMixPolicy"] = {
            "baseRegularPriorityCount": spec.vm_count - spec.spot_count,
            "regularPriorityPercentageAboveBase": 0,
        }
        profile["priority"] = "Spot"
        profile["evictionPolicy"] = spec.spot_eviction_policy
        profile["billingProfile"] = {"maxPrice": -1}
    return {
        "id": s.id,
        "name": s.name,
        "type": "Microsoft.Compute/virtualMachineScaleSets",
        "location": s.location,
        "tags": dict(s.tags),
        "etag": s.etag,
        "sku": {"name": spec.vm_size, "tier": "Standard", "capacity": len(w.vms())},
        "zones": list(spec.zones),
        "properties": props,
    }


def _scale_set(request: web.Request) -> World:
    group = check_scope(request)
    w = world(request)
    name = request.match_info["vmScaleSetName"]
    if name.lower() != w.scale_set.name.lower():
        raise ResourceNotFound.in_group("Microsoft.Compute/virtualMachineScaleSets", name, group)
    return w


async def get_scale_set(request: web.Request) -> web.Response:
    w = _scale_set(request)
    return web.json_response(render_scale_set(w), headers={"ETag": w.scale_set.etag})


async def patch_scale_set(request: web.Request) -> web.Response:
    """VirtualMachineScaleSets_Update, tags only (what the run's lease writes), honouring
    If-Match: 412 PreconditionFailed when the ETag moved on. Synchronous: 200 and the set."""
    w = _scale_set(request)
    body = await json_object(request)
    unsupported = sorted(k for k in body if k != "tags")
    if unsupported:
        raise BadRequest(
            f"The emulator updates only the tags of a scale set, not {', '.join(unsupported)}."
        )
    tags = body.get("tags")
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise InvalidRequestContent("The tags must be an object of strings.")
    w.scale_set.update_tags({str(k): v for k, v in tags.items()}, request.headers.get("If-Match"))
    return web.json_response(render_scale_set(w), headers={"ETag": w.scale_set.etag})


async def list_scale_sets(request: web.Request) -> web.Response:
    check_scope(request)
    return web.json_response({"value": [render_scale_set(world(request))]})


async def list_all_scale_sets(request: web.Request) -> web.Response:
    check_subscription(request)
    return web.json_response({"value": [render_scale_set(world(request))]})


async def scale_set_instance_view(request: web.Request) -> web.Response:
    w = _scale_set(request)
    if w.scale_set.orchestration_mode == "Flexible":
        raise OperationNotAllowed(
            "Operation 'VirtualMachineScaleSets.instanceView.GET' is not allowed on Virtual "
            f"Machine Scale Set '{w.scale_set.name}'."
        )
    counts: dict[str, int] = {}
    for vm in w.vms():
        counts[f"PowerState/{vm.power_state}"] = counts.get(f"PowerState/{vm.power_state}", 0) + 1
    return web.json_response(
        {
            "virtualMachine": {
                "statusesSummary": [{"code": c, "count": n} for c, n in sorted(counts.items())]
            },
            "statuses": [
                {
                    "code": "ProvisioningState/succeeded",
                    "level": "Info",
                    "displayStatus": "Provisioning succeeded",
                }
            ],
        }
    )


ROUTES = [
    Route("GET", RG_SETS, list_scale_sets),
    Route("GET", "/subscriptions/{subscriptionId}" + SETS, list_all_scale_sets),
    Route("GET", ONE, get_scale_set),
    Route("PATCH", ONE, patch_scale_set),
    Route("GET", ONE + "/instanceView", scale_set_instance_view),
]
