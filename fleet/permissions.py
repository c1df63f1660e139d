"""The Azure RBAC actions a game day needs, and whether the caller has them.

What is needed: the harness's reads (every experiment: the scale set, its VMs and their
instance views, extensions, the load balancer and its per-backend health) plus each selected
fault's own `actions` (fleet/faults/). What the caller has: Resource Manager's
`Microsoft.Authorization/permissions` at the resource group, read through the same SDK pipeline
as every other call (its `actions` minus `notActions`, `*` a wildcard). The shipped
least-privilege role, azure/flexchaos-role.json, is exactly the default game day's needs
(`role_definition`); a test keeps the two equal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fleet.faults import fault
from fleet.target import FleetTarget

PERMISSIONS_API_VERSION = "2022-04-01"
DEFAULT_GAME_DAY = ("stop", "deallocate", "evict", "break-extension", "zone-down", "chaos-shutdown")
ROLE_NAME = "flexchaos game day"

READS: Mapping[str, str] = {
    "Microsoft.Compute/virtualMachineScaleSets/read": (
        "resolve the scale set (Flexible, allow tag), evidence and design review"
    ),
    "Microsoft.Compute/virtualMachines/read": (
        "list the set's VMs with their instance views (the capacity probe, inventory)"
    ),
    "Microsoft.Compute/virtualMachines/instanceView/read": "wait for a VM's power state",
    "Microsoft.Compute/virtualMachines/extensions/read": (
        "read the Application Health extension (evidence, review, the extension fault)"
    ),
    "Microsoft.Network/loadBalancers/read": "read the load balancer and its probe",
    "Microsoft.Network/loadBalancers/loadBalancingRules/health/action": (
        "read per-backend health (the routing probe: detection time)"
    ),
}

# Written by the harness itself, whatever the faults (needed_by "lease").
LEASE: Mapping[str, str] = {
    "Microsoft.Compute/virtualMachineScaleSets/write": (
        "the run's lease: a tag on the scale set, written with its ETag (one run per set)"
    ),
}


@dataclass(frozen=True)
class Need:
    """One action the run needs, and what needs it (the reads, or the faults named)."""

    action: str
    why: str
    needed_by: tuple[str, ...]  # "reads" or fault names

    def text(self) -> str:
        return f"{self.action} (needed by {', '.join(self.needed_by)}: {self.why})"


def needs(faults: Iterable[str]) -> list[Need]:
    """Every action a run of these faults needs, reads first, each once."""
    found: dict[str, Need] = {a: Need(a, why, ("reads",)) for a, why in READS.items()}
    found.update({a: Need(a, why, ("lease",)) for a, why in LEASE.items()})
    for name in dict.fromkeys(faults):
        for action, why in fault(name).actions.items():
            have = found.get(action)
            if have is None:
                found[action] = Need(action, why, (name,))
            elif name not in have.needed_by:
                found[action] = Need(action, have.why, (*have.needed_by, name))
    return list(found.values())


def _matches(pattern: str, action: str) -> bool:
    regex = "^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$"
    return re.match(regex, action, flags=re.IGNORECASE) is not None


def permitted(permissions: Sequence[Mapping[str, Any]], action: str) -> bool:
    """Azure's rule: some entry's actions match and none of the same entry's notActions do."""
    return any(
        any(_matches(p, action) for p in entry.get("actions") or [])
        and not any(_matches(p, action) for p in entry.get("notActions") or [])
        for entry in permissions
    )


def missing(permissions: Sequence[Mapping[str, Any]], wanted: Iterable[Need]) -> list[Need]:
    return [need for need in wanted if not permitted(permissions, need.action)]


def group_scope(target: FleetTarget) -> str:
    return f"/subscriptions/{target.subscription_id}/resourceGroups/{target.resource_group}"


def read_permissions(target: FleetTarget) -> list[dict[str, Any]]:
    """`GET {resource group}/providers/Microsoft.Authorization/permissions`, through the compute
    client's pipeline (its credential, retries and error mapping); raises HttpResponseError."""
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest

    client = target.clients.compute
    url = (
        target.endpoint.arm_url.rstrip("/") + group_scope(target)
        + f"/providers/Microsoft.Authorization/permissions?api-version={PERMISSIONS_API_VERSION}"
    )  # fmt: skip
    entries: list[dict[str, Any]] = []
    for _page in range(50):  # bounded: a handful of role assignments, one page each at most
        response = client.send_request(
            HttpRequest("GET", url, headers={"Accept": "application/json"})
        )
        if response.status_code >= 400:
            raise HttpResponseError(response=response)
        body = response.json()
        entries += list(body.get("value") or [])
        url = body.get("nextLink")
        if not url:
            break
    return entries


def role_definition(faults: Iterable[str] = DEFAULT_GAME_DAY) -> dict[str, Any]:
    """The least-privilege custom role (Azure CLI's format) for a game day of these faults."""
    return {
        "Name": ROLE_NAME,
        "IsCustom": True,
        "Description": (
            "What flexchaos needs to run its default game day on one Flexible scale set: read "
            "the set, its VMs, extensions and load balancer; tag the set (the run's lease); stop, "
            "deallocate, evict and start "
            "VMs; update the health extension; run a Chaos Studio VM shutdown. Assign it on the "
            "test resource group only. docs/azure.md"
        ),
        "Actions": [need.action for need in needs(faults)],
        "NotActions": [],
        "DataActions": [],
        "NotDataActions": [],
        "AssignableScopes": ["/subscriptions/{subscriptionId}/resourceGroups/{resourceGroup}"],
    }
