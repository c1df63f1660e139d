"""The load balancer's view of the fleet: which VMs it routes new flows to, and why not.

Azure reports it per load-balancing rule: `network.load_balancer_load_balancing_rules
.begin_health(rg, lb, rule)` (`POST …/loadBalancers/{lb}/loadBalancingRules/{rule}/health`, a
long-running operation whose result, at its Location, is `LoadBalancerHealthPerRule`: each
backend's ipAddress, networkInterfaceIPConfigurationId, state "Up"/"Down" and reason code;
docs/azure-behaviour.md §4.1). The emulator serves the same route from its own probes.

A backend is mapped to its VM by its NIC: a VM's GET carries no IP address, but its
networkProfile names its NICs, and each backend names the NIC ipConfiguration it is. The map
comes from one VM listing (no instance view), read again when a backend names an unknown NIC
(a repair's replacement VM). A backend whose entry has no state (Azure: "returns empty values"
for a VM that is turned off and so not probed) is not routed.

Call cost, per query: one POST (ARM counts it as a write) and, as the SDK polls, two GETs (the
status monitor and the Location). ARM's published subscription limits (token buckets, 2024:
writes 200 with 10/s refill, reads 250 with 25/s) allow one query a second with room to spare;
the harness queries at its capacity tick or faster (flexchaos/observation.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from fleet.azure_errors import translated
from fleet.call_log import Stamped
from fleet.inventory import Inventory
from fleet.target import FleetTarget
from flexchaos.errors import FlexchaosError, OperationTimeout

DEFAULT_TIMEOUT_S = 30.0  # the longest one query may take (Azure answers through its LRO)
_IP_CONFIGURATIONS = "/ipconfigurations/"


@dataclass(frozen=True)
class BackendRouting:
    """One backend of the rule as the load balancer reports it."""

    vm: str | None  # the VM whose NIC it is; None: no VM of the set has that NIC
    ip_address: str | None
    ip_configuration_id: str | None
    state: str | None  # Azure's "Up" | "Down"; None: no status (the VM is off, not probed)
    reason: str | None  # Azure's reason code, e.g. Up_Probe_Success, Down_Probe_HttpStatusCodeError

    @property
    def routed(self) -> bool:
        """The load balancer sends new flows to it (state Up)."""
        return (self.state or "").lower() == "up"

    @property
    def instance(self) -> str:
        """The VM's name, or what names the backend when it is not one of the set's VMs."""
        return self.vm or self.ip_address or self.ip_configuration_id or "unknown backend"

    @classmethod
    def from_wire(cls, entry: Mapping[str, Any], vm: str | None) -> BackendRouting:
        return cls(
            vm=vm,
            ip_address=entry.get("ipAddress"),
            ip_configuration_id=entry.get("networkInterfaceIPConfigurationId"),
            state=entry.get("state") or None,
            reason=entry.get("reason") or None,
        )


def nic_of(ip_configuration_id: str) -> str:
    """`…/networkInterfaces/{nic}/ipConfigurations/{name}` → the NIC's id, lower case (ARM ids
    are case-insensitive: Azure's own example spells it `IpConfigurations`)."""
    lowered = ip_configuration_id.lower()
    cut = lowered.rfind(_IP_CONFIGURATIONS)
    return lowered[:cut] if cut >= 0 else lowered


@dataclass(frozen=True)
class BackendMap:
    """VM names by their NICs' ids (lower case), from a VM listing."""

    nics: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_vms(cls, vms: Iterable[Mapping[str, Any]]) -> BackendMap:
        """From VMs in wire format (`networkProfile.networkInterfaces[].id`)."""
        nics: dict[str, str] = {}
        for vm in vms:
            profile = (vm.get("properties") or {}).get("networkProfile") or {}
            for nic in profile.get("networkInterfaces") or []:
                if nic.get("id"):
                    nics[str(nic["id"]).lower()] = vm["name"]
        return cls(nics)

    def vm_for(self, ip_configuration_id: str | None) -> str | None:
        return self.nics.get(nic_of(ip_configuration_id)) if ip_configuration_id else None


def first_probed_rule(load_balancer: Mapping[str, Any]) -> str | None:
    """The name of the first load-balancing rule with a probe (health needs a probed rule)."""
    rules = (load_balancer.get("properties") or {}).get("loadBalancingRules") or []
    for rule in rules:
        if ((rule.get("properties") or {}).get("probe") or {}).get("id") and rule.get("name"):
            return str(rule["name"])
    return None


class LoadBalancerRouting:
    """Reads the per-backend health of one rule of the target's load balancer; read-only."""

    def __init__(
        self,
        target: FleetTarget,
        rule: str | None = None,
        *,
        inventory: Inventory | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        if not target.load_balancer:
            raise FlexchaosError(
                f"{target.describe()} names no load balancer; pass --load-balancer to read "
                "which VMs it routes to"
            )
        self.target = target
        self.load_balancer: str = target.load_balancer
        self.timeout_s = timeout_s
        self._rule = rule
        self._inventory = inventory or Inventory(target)
        self._map: BackendMap | None = None
        self._unmapped: set[str] = set()  # NICs no listing has mapped: not listed again for them
        self.answered_at = 0.0  # the time the latest health query's answer describes

    def rule(self) -> str:
        """The rule named at construction, else the load balancer's first probed rule."""
        if self._rule is None:
            t = self.target
            with translated(f"read load balancer '{self.load_balancer}'"):
                body = t.clients.network.load_balancers.get(t.resource_group, self.load_balancer)
            rule = first_probed_rule(body.as_dict())
            if rule is None:
                raise FlexchaosError(
                    f"load balancer '{self.load_balancer}' has no load-balancing rule with a "
                    "health probe; its health status cannot be read"
                )
            self._rule = rule
        return self._rule

    def health(self) -> list[dict[str, Any]]:
        """One health query: the rule's backends in wire format (the LRO's result)."""
        t = self.target
        rule = self.rule()
        what = f"read the health of rule '{rule}' of load balancer '{self.load_balancer}'"
        sent = time.time()
        with translated(what):
            poller = t.clients.network.load_balancer_load_balancing_rules.begin_health(
                t.resource_group, self.load_balancer, rule
            )
            # the health is read when the query is accepted (its POST), not when polled done
            self.answered_at = t.clients.call_log.answered_at(sent)
            result = poller.result(timeout=self.timeout_s)
        if not poller.done() or result is None:
            raise OperationTimeout(f"{what}: no answer within {self.timeout_s:g} s")
        return list(result.as_dict().get("loadBalancerBackendAddresses") or [])

    def backends(self) -> Stamped:
        """Each backend of the rule with its VM, state and reason: one query, and a VM listing
        the first time and whenever a backend names a NIC not seen before (a new VM)."""
        entries = self.health()
        ids = [e.get("networkInterfaceIPConfigurationId") for e in entries]
        fresh = self._map is None
        mapping = self._vm_map()
        unknown = {str(i) for i in ids if i and mapping.vm_for(i) is None}
        if unknown - self._unmapped and not fresh:
            self._map = None  # a NIC not seen before (a new VM): list the VMs again, once
            mapping = self._vm_map()
            unknown = {i for i in unknown if mapping.vm_for(i) is None}
        self._unmapped |= unknown
        return Stamped(
            (
                BackendRouting.from_wire(e, mapping.vm_for(i))
                for e, i in zip(entries, ids, strict=True)
            ),
            self.answered_at,
        )

    def _vm_map(self) -> BackendMap:
        if self._map is None:
            self._map = BackendMap.from_vms(self._inventory.raw_vms(expand_instance_view=False))
        return self._map
