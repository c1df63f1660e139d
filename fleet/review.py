"""Design review: read-only checks of a fleet's resilience design, each pass/warn/fail + reason.

The checks read one evidence snapshot (fleet/evidence.py), so a review costs the same reads as
a snapshot and can also be run on a snapshot saved earlier.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from fleet.evidence import flatten, instances_of, snapshot
from fleet.inventory import Instance, is_health_extension
from fleet.target import FleetTarget

Status = Literal["pass", "warn", "fail"]
SLOW_GRACE_MINUTES = 30
SEVERITY: dict[str, str] = {"fail": "high", "warn": "medium", "pass": "none"}
# What to change when a check does not pass: the design decision, not the symptom.
CHANGES: dict[str, str] = {
    "orchestration": "recreate the scale set with orchestrationMode Flexible",
    "zones": "spread the scale set over at least two availability zones (zones: [1, 2, 3]) "
    "and keep the VMs balanced between them",
    "health extension": "add the Application Health extension to the scale set's VM profile "
    "(and to the VMs that lack it), probing the app's health endpoint",
    "automatic repairs": "enable automaticRepairsPolicy with a grace period of 30 minutes or "
    "less (e.g. PT10M, Replace)",
    "load balancer": "put every VM's NIC in the load balancer's backend pool (or name the "
    "load balancer with --load-balancer so the review can check it)",
    "vm sizes": "use one VM size, or size the capacity targets for the smallest VM",
    "spot mix": "set priorityMixPolicy (baseRegularPriorityCount) so a Regular base "
    "survives Spot evictions",
}
ISO_DURATION = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


@dataclass(frozen=True)
class Finding:
    check: str
    status: Status
    reason: str

    def line(self) -> str:
        return f"{self.status.upper():4}  {self.check}: {self.reason}"

    @property
    def severity(self) -> str:
        """high (a check failed), medium (a warning) or none (passed)."""
        return SEVERITY[self.status]

    @property
    def change(self) -> str:
        """What to change in the design; empty when the check passed."""
        return "" if self.status == "pass" else CHANGES.get(self.check, "see the finding")

    def to_dict(self) -> dict[str, str]:
        return {
            "check": self.check, "status": self.status, "severity": self.severity,
            "finding": self.reason, "change": self.change,
        }  # fmt: skip


def minutes(duration: str | None) -> float | None:
    """'PT10M' → 10.0; None when absent or not an ISO-8601 time duration."""
    match = ISO_DURATION.match(duration or "")
    if not match or not any(match.groups()):
        return None
    hours, mins, secs = (int(g or 0) for g in match.groups())
    return hours * 60 + mins + secs / 60


def check_orchestration(props: Mapping[str, Any]) -> Finding:
    mode = props.get("orchestrationMode") or "Uniform"
    if mode == "Flexible":
        return Finding("orchestration", "pass", "Flexible orchestration")
    return Finding("orchestration", "fail", f"{mode} orchestration; flexchaos expects Flexible")


def check_zones(scale_set: Mapping[str, Any], instances: list[Instance]) -> Finding:
    zones = [str(z) for z in scale_set.get("zones") or []]
    per_zone = Counter(i.zone for i in instances if i.zone)
    if len(zones) >= 2:
        spread = ", ".join(f"zone {z}: {per_zone.get(z, 0)}" for z in sorted(zones))
        counts = [per_zone.get(z, 0) for z in zones]
        if counts and max(counts) - min(counts) > 1:
            return Finding("zones", "warn", f"{len(zones)} zones but unbalanced ({spread})")
        return Finding("zones", "pass", f"{len(zones)} zones ({spread})")
    domains = {i.fault_domain for i in instances if i.fault_domain is not None}
    if len(domains) >= 2:
        return Finding(
            "zones",
            "warn",
            f"{len(zones) or 'no'} zone(s): a zone outage takes the whole set; VMs spread over "
            f"{len(domains)} fault domains",
        )
    return Finding(
        "zones", "fail", f"{len(zones) or 'no'} zone(s) and {len(domains)} fault domain(s) in use"
    )


def has_health_extension(vm: Mapping[str, Any], instance: Instance) -> bool:
    if instance.health_extension is not None:
        return True
    return any(
        is_health_extension((e.get("properties") or {}).get("type"))
        for e in vm.get("extensions") or []
    )


def check_health_extension(vms: Mapping[str, Any], instances: list[Instance]) -> Finding:
    missing = [i.name for i in instances if not has_health_extension(vms[i.name], i)]
    if not instances:
        return Finding("health extension", "fail", "the set has no VMs")
    if missing:
        return Finding(
            "health extension",
            "fail",
            f"{len(missing)} of {len(instances)} VMs lack the Application Health extension: "
            + ", ".join(missing[:5]),
        )
    return Finding(
        "health extension",
        "pass",
        f"all {len(instances)} VMs run the Application Health extension",
    )


def check_repairs(props: Mapping[str, Any]) -> Finding:
    policy = props.get("automaticRepairsPolicy") or {}
    if not policy.get("enabled"):
        return Finding(
            "automatic repairs", "warn", "disabled: unhealthy VMs stay until someone acts"
        )
    grace = policy.get("gracePeriod")
    action = policy.get("repairAction") or "Replace"
    grace_min = minutes(grace)
    if grace_min is not None and grace_min > SLOW_GRACE_MINUTES:
        return Finding(
            "automatic repairs",
            "warn",
            f"enabled ({action}) but grace period {grace} leaves an unhealthy VM in for over "
            f"{SLOW_GRACE_MINUTES} min",
        )
    return Finding("automatic repairs", "pass", f"enabled, {action} after {grace or 'PT10M'}")


def backend_members(load_balancer: Mapping[str, Any]) -> set[str]:
    """Every string that identifies a backend pool member (ids, names, addresses)."""
    members: set[str] = set()
    for pool in (load_balancer.get("properties") or {}).get("backendAddressPools") or []:
        props = pool.get("properties") or {}
        for ipc in props.get("backendIPConfigurations") or []:
            members |= {str(v) for v in flatten(ipc).values() if isinstance(v, str)}
        for address in props.get("loadBalancerBackendAddresses") or []:
            members |= {str(v) for v in flatten(address).values() if isinstance(v, str)}
    return members


def vm_identifiers(vm: Mapping[str, Any]) -> set[str]:
    """The VM's name, its NIC ids and its IP addresses: what a pool member may point at."""
    ids = {vm.get("name", "")}
    for key, value in flatten(vm.get("properties") or {}).items():
        if isinstance(value, str) and (
            "networkInterfaces" in key or re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", value)
        ):
            ids.add(value)
    return {i for i in ids if i}


def covered(vm: Mapping[str, Any], members: set[str]) -> bool:
    identifiers = vm_identifiers(vm)
    return any(
        ident == member or (len(ident) > 6 and ident in member)
        for ident in identifiers
        for member in members
    )


def check_load_balancer(
    load_balancer: Mapping[str, Any] | None, vms: Mapping[str, Any], instances: list[Instance]
) -> Finding:
    if not load_balancer:
        return Finding("load balancer", "warn", "no load balancer named; pool coverage unchecked")
    if "missing" in load_balancer:
        return Finding(
            "load balancer", "fail", f"load balancer {load_balancer['missing']} not found"
        )
    members = backend_members(load_balancer)
    running = [i for i in instances if i.running]
    outside = [i.name for i in running if not covered(vms[i.name], members)]
    name = load_balancer.get("name", "")
    if outside:
        return Finding(
            "load balancer",
            "fail",
            f"{len(outside)} of {len(running)} running VMs are not in {name}'s backend pool: "
            + ", ".join(outside[:5]),
        )
    return Finding(
        "load balancer", "pass", f"{name}'s backend pool covers all {len(running)} running VMs"
    )


def check_sizes(instances: list[Instance]) -> Finding:
    sizes = Counter(i.vm_size or "unknown" for i in instances)
    shown = ", ".join(f"{s} ×{n}" for s, n in sorted(sizes.items()))
    if len(sizes) <= 1:
        return Finding("vm sizes", "pass", f"one size ({shown})")
    return Finding(
        "vm sizes", "warn", f"{len(sizes)} sizes mixed ({shown}): capacity per VM differs"
    )


def check_spot(props: Mapping[str, Any], instances: list[Instance]) -> Finding:
    spot = sum(1 for i in instances if i.spot)
    total = len(instances)
    if spot == 0:
        return Finding("spot mix", "pass", "no Spot VMs")
    regular = total - spot
    policy = props.get("priorityMixPolicy")
    if not policy:
        return Finding(
            "spot mix",
            "warn",
            f"{spot} of {total} VMs are Spot with no priorityMixPolicy to keep a Regular base",
        )
    base = int(policy.get("baseRegularPriorityCount") or 0)
    percent = float(policy.get("regularPriorityPercentageAboveBase") or 0)
    expected = min(total, base) + math.ceil(max(0, total - base) * percent / 100 - 1e-9)
    if regular < expected:
        return Finding(
            "spot mix",
            "fail",
            f"{regular} Regular of {total}, under the {expected} priorityMixPolicy asks for "
            f"(base {base}, {percent:g}% above base)",
        )
    return Finding(
        "spot mix",
        "pass",
        f"{spot} Spot, {regular} Regular: meets priorityMixPolicy "
        f"(base {base}, {percent:g}% above)",
    )


def review_snapshot(snap: Mapping[str, Any]) -> list[Finding]:
    scale_set = snap["scale_set"]
    props = scale_set.get("properties") or {}
    vms = snap["vms"]
    instances = instances_of(snap)
    return [
        check_orchestration(props),
        check_zones(scale_set, instances),
        check_health_extension(vms, instances),
        check_repairs(props),
        check_load_balancer(snap.get("load_balancer"), vms, instances),
        check_sizes(instances),
        check_spot(props, instances),
    ]


def review(target: FleetTarget) -> list[Finding]:
    """Take a snapshot (reads only) and review it."""
    return review_snapshot(snapshot(target))


def text(findings: list[Finding]) -> str:
    worst = (
        "fail"
        if any(f.status == "fail" for f in findings)
        else ("warn" if any(f.status == "warn" for f in findings) else "pass")
    )
    counts = Counter(f.status for f in findings)
    summary = (
        f"review: {worst.upper()} ({counts['pass']} pass, {counts['warn']} warn, "
        f"{counts['fail']} fail)"
    )
    return "\n".join([*(f.line() for f in findings), summary])
