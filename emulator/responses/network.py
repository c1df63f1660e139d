"""Microsoft.Network/loadBalancers GET: the emulator's load balancer as a Standard SKU resource.

What `NetworkManagementClient.load_balancers.get(rg, lb)` shows: the frontend IP configuration
(127.0.0.1 and the frontend port), one backend pool with a member per VM (its NIC's ipConfiguration
id and its address), the probe (protocol, port, path, interval, probeThreshold) and the rule
(TCP, frontend port -> app port, 5-tuple distribution). Shapes follow azure-mgmt-network 33.
The rule's health status (`POST …/loadBalancingRules/{rule}/health`) is in lb_health.py.
The frontend port is the running data plane's, found through the application
(`request.app[DATAPLANE]`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.models import World
from emulator.models.errors import ResourceNotFound
from emulator.responses._arm import check_scope, world
from emulator.routing import DATAPLANE, Route

BASE = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.Network/loadBalancers"
)
POOL = "backend"
FRONTEND = "frontend"
PROBE = "health"
RULE = "http"
IDLE_TIMEOUT_MINUTES = 4


def nic_ip_configuration_id(w: World, vm_name: str) -> str:
    """The id of a VM's NIC ipConfiguration, the backend pool's member (`{vm}-nic`, as the VM's
    networkProfile names its NIC)."""
    nics = f"{w.scale_set.rg_prefix}/providers/Microsoft.Network/networkInterfaces"
    return f"{nics}/{vm_name}-nic/ipConfigurations/ipconfig1"


def render_load_balancer(w: World, frontend_port: int | None) -> dict[str, Any]:
    s = w.scale_set
    spec = s.load_balancer
    lb_id = s.load_balancer_id
    app_port = w.app_port
    frontend_id = f"{lb_id}/frontendIPConfigurations/{FRONTEND}"
    pool_id = f"{lb_id}/backendAddressPools/{POOL}"
    probe_id = f"{lb_id}/probes/{PROBE}"
    rule_id = f"{lb_id}/loadBalancingRules/{RULE}"
    vms = w.vms()
    probe_props: dict[str, Any] = {
        "protocol": spec.probe_protocol,
        "port": app_port,
        "intervalInSeconds": spec.probe_interval_in_seconds,
        "numberOfProbes": 1,
        "probeThreshold": spec.probe_threshold,
        "noHealthyBackendsBehavior": "AllProbedDown",
        "loadBalancingRules": [{"id": rule_id}],
        "provisioningState": "Succeeded",
    }
    if spec.probe_protocol != "Tcp":
        probe_props["requestPath"] = spec.probe_path
    return {
        "id": lb_id,
        "name": spec.name,
        "type": "Microsoft.Network/loadBalancers",
        "location": s.location,
        "sku": {"name": "Standard", "tier": "Regional"},
        "properties": {
            "provisioningState": "Succeeded",
            "frontendIPConfigurations": [
                {
                    "id": frontend_id,
                    "name": FRONTEND,
                    "properties": {
                        "privateIPAddress": "127.0.0.1",
                        "privateIPAllocationMethod": "Static",
                        "privateIPAddressVersion": "IPv4",
                        "loadBalancingRules": [{"id": rule_id}],
                        "provisioningState": "Succeeded",
                    },
                }
            ],
            "backendAddressPools": [
                {
                    "id": pool_id,
                    "name": POOL,
                    "properties": {
                        "backendIPConfigurations": [
                            {"id": nic_ip_configuration_id(w, vm.name)} for vm in vms
                        ],
                        "loadBalancerBackendAddresses": [
                            {
                                "name": vm.name,
                                "properties": {
                                    "ipAddress": vm.address,
                                    "networkInterfaceIPConfiguration": {
                                        "id": nic_ip_configuration_id(w, vm.name)
                                    },
                                },
                            }
                            for vm in vms
                        ],
                        "loadBalancingRules": [{"id": rule_id}],
                        "provisioningState": "Succeeded",
                    },
                }
            ],
            "probes": [{"id": probe_id, "name": PROBE, "properties": probe_props}],
            "loadBalancingRules": [
                {
                    "id": rule_id,
                    "name": RULE,
                    "properties": {
                        "frontendIPConfiguration": {"id": frontend_id},
                        "backendAddressPool": {"id": pool_id},
                        "backendAddressPools": [{"id": pool_id}],
                        "probe": {"id": probe_id},
                        "protocol": "Tcp",
                        "loadDistribution": "Default",
                        "frontendPort": frontend_port or 0,
                        "backendPort": app_port,
                        "idleTimeoutInMinutes": IDLE_TIMEOUT_MINUTES,
                        "enableFloatingIP": False,
                        "enableTcpReset": False,
                        "disableOutboundSnat": True,
                        "provisioningState": "Succeeded",
                    },
                }
            ],
            "inboundNatRules": [],
            "outboundRules": [],
        },
    }


async def get_load_balancer(request: web.Request) -> web.Response:
    group = check_scope(request)
    w = world(request)
    name = request.match_info["loadBalancerName"]
    if name.lower() != w.scale_set.load_balancer.name.lower():
        raise ResourceNotFound.in_group("Microsoft.Network/loadBalancers", name, group)
    return web.json_response(render_load_balancer(w, request.app[DATAPLANE].frontend_port))


async def list_load_balancers(request: web.Request) -> web.Response:
    check_scope(request)
    port = request.app[DATAPLANE].frontend_port
    return web.json_response({"value": [render_load_balancer(world(request), port)]})


ROUTES = [
    Route("GET", BASE, list_load_balancers),
    Route("GET", BASE + "/{loadBalancerName}", get_load_balancer),
]
