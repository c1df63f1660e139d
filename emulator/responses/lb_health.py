"""The load balancer's health status per load-balancing rule, through Azure's own route.

`POST …/providers/Microsoft.Network/loadBalancers/{lb}/loadBalancingRules/{rule}/health` is a
long-running operation (REST spec Azure/azure-rest-api-specs, specification/network,
stable/2024-05-01/loadBalancer.json and, as served here, Network/stable/2026-03-01 (vendored in
tests/contract/specs), operationId `LoadBalancerLoadBalancingRules_Health`: responses 200 and
202 {Location, Retry-After}, `x-ms-long-running-operation-options: final-state-via: location`; the
SDK's `load_balancer_load_balancing_rules.begin_health`, azure-mgmt-network 33.1, accepts 200
or 202). As in the spec's example, the emulator answers 202 with `Location` (the operation
result) and `Azure-AsyncOperation` (the status monitor); the Location answers 200 with
`LoadBalancerHealthPerRule`: `{up, down, loadBalancerBackendAddresses: [{ipAddress,
networkInterfaceIPConfigurationId, state: "Up"|"Down", reason}]}` (docs/azure-behaviour.md §4.1).

The states and reasons are the emulator's load balancer's own probe states when the query is
accepted (emulator/dataplane/probe_reasons.py). A backend whose VM is stopped or deallocated is
not probed: once the probe has taken it out, its entry carries no state and no reason, as Azure
"returns empty values" for a VM that is turned off; it counts as neither up nor down.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from emulator.models import Operation, World
from emulator.models.errors import DataPlaneNotRunning, ResourceNotFound
from emulator.models.rule_health import BackendHealth, RuleHealth
from emulator.responses._arm import check_scope, world
from emulator.responses.network import BASE, RULE, nic_ip_configuration_id
from emulator.responses.operations import LroStyle, accepted, routes
from emulator.routing import DATAPLANE, Route

HEALTH = BASE + "/{loadBalancerName}/loadBalancingRules/{loadBalancingRuleName}/health"


def render_rule_health(w: World, op: Operation) -> dict[str, Any]:
    """`LoadBalancerHealthPerRule` for the health the operation recorded."""
    health = op.output
    assert isinstance(health, RuleHealth)
    addresses: list[dict[str, Any]] = []
    for backend in health.backends:
        entry: dict[str, Any] = {
            "ipAddress": backend.address,
            "networkInterfaceIPConfigurationId": nic_ip_configuration_id(w, backend.vm),
        }
        if backend.reason is not None:  # not probed (VM off): Azure gives empty values
            entry["state"] = "Up" if backend.up else "Down"
            entry["reason"] = backend.reason
        addresses.append(entry)
    probed = [b for b in health.backends if b.reason is not None]
    return {
        "up": sum(1 for b in probed if b.up),
        "down": sum(1 for b in probed if not b.up),
        "loadBalancerBackendAddresses": addresses,
    }


NETWORK = LroStyle(
    "Microsoft.Network",
    "operations",
    lambda w, op_id: w.network.get(op_id),
    status_result=False,
    ok_when_done=False,  # Azure answers 202 and the result comes from the Location
    render_result=render_rule_health,
)


async def rule_health(request: web.Request) -> web.Response:
    """Accept a health query of the rule: 202, the result at the operation's Location."""
    group = check_scope(request)
    w = world(request)
    name = request.match_info["loadBalancerName"]
    if name.lower() != w.scale_set.load_balancer.name.lower():
        raise ResourceNotFound.in_group("Microsoft.Network/loadBalancers", name, group)
    rule = request.match_info["loadBalancingRuleName"]
    if rule.lower() != RULE:
        raise ResourceNotFound.in_group(
            "Microsoft.Network/loadBalancers/loadBalancingRules", f"{name}/{rule}", group
        )
    lb = request.app[DATAPLANE].lb
    if lb is None:
        raise DataPlaneNotRunning("The load balancer has not started yet.")
    backends = tuple(
        BackendHealth(b.vm, b.address, b.up, b.reason)
        for b in sorted(lb.backends, key=lambda b: b.vm)
    )
    rule_id = f"{w.scale_set.load_balancer_id}/loadBalancingRules/{RULE}"
    op = w.network.health_query(rule_id, backends)
    return accepted(request, op, NETWORK)


ROUTES = [Route("POST", HEALTH, rule_health), *routes(NETWORK)]
