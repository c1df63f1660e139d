"""The read-only checklist before a game day: can it run at all, against this target, with
these experiments? One finding per line; any blocker stops the run before anything changes.

In order: the credential signs in (and Resource Manager takes its token); the caller's
permissions at the resource group cover every action the selected faults and the harness's
reads need (Microsoft.Authorization/permissions); the scale set is Flexible and carries the
allow tag; the health extension and automatic repairs are there for the experiments that rely
on them; the load balancer and its probe are found; Spot VMs exist for an eviction; the Chaos
Studio target and capability on the VMs; the throttling headroom Resource Manager and Compute
report (`x-ms-ratelimit-remaining-*`). A failure that leaves nothing else checkable (no token,
no scale set) ends the list there. Only GETs (and the permissions read) are made.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from fleet.azure_errors import translated
from fleet.evidence import lb_probe
from fleet.faults import fault
from fleet.inventory import Instance, Inventory, ScaleSet, vm_filter
from fleet.permissions import group_scope, missing, needs, read_permissions
from fleet.target import FleetTarget
from flexchaos.errors import AzureCallFailed, FlexchaosError, NotFound

Status = Literal["ok", "info", "warn", "blocker"]
LOW_HEADROOM = 20  # remaining calls in a throttling bucket under which a game day may stall
CHAOS_TARGET = "Microsoft-VirtualMachine"
MAX_CHAOS_VMS = 10  # VMs whose Chaos Studio target is read (bounded: one GET each)


@dataclass(frozen=True)
class Finding:
    status: Status
    check: str
    text: str

    def line(self) -> str:
        return f"{self.status.upper():7}  {self.check}: {self.text}"


@dataclass
class Preflight:
    findings: list[Finding]

    @property
    def blockers(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "blocker"]

    @property
    def passed(self) -> bool:
        return not self.blockers

    def refusal(self) -> str | None:
        """One line for a run that must not start: the first blocker (and how many more)."""
        if self.passed:
            return None
        first, more = self.blockers[0], len(self.blockers) - 1
        extra = f" (and {more} more blocker{'s' if more > 1 else ''})" if more else ""
        return f"preflight: {first.check}: {first.text}{extra}"

    def text(self) -> str:
        verdict = (
            "preflight passed"
            if self.passed
            else f"preflight FAILED: {len(self.blockers)} blocker(s); nothing was changed"
        )
        return "\n".join([*(f.line() for f in self.findings), verdict])


def _credential(target: FleetTarget) -> Finding:
    """Azure: DefaultAzureCredential must get a token for Resource Manager's audience."""
    if target.endpoint.is_emulator:
        return Finding("ok", "credential", "the emulator's static token")
    from azure.core.exceptions import ClientAuthenticationError

    try:
        target.clients.credential.get_token(target.endpoint.scope)
    except ClientAuthenticationError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = next((line for line in lines if "AADSTS" in line), lines[0] if lines else "")
        return Finding(
            "blocker",
            "credential",
            f"DefaultAzureCredential could not get a token for {target.endpoint.scope}: "
            f"{detail[:300]}; check AZURE_TENANT_ID, AZURE_CLIENT_ID and the federated "
            "credential or secret",
        )
    return Finding(
        "ok", "credential", f"DefaultAzureCredential signed in for {target.endpoint.scope}"
    )


def _refused(check: str, exc: AzureCallFailed) -> Finding:
    if exc.status == 401:
        return Finding("blocker", check, f"Resource Manager refused the token: {exc}")
    if exc.status == 403:
        return Finding("blocker", check, f"refused by role-based access: {exc}")
    return Finding("blocker", check, str(exc))


def _permissions(target: FleetTarget, faults: Sequence[str]) -> list[Finding]:
    try:
        with translated(f"read your permissions at {group_scope(target)}"):
            granted = read_permissions(target)
    except AzureCallFailed as exc:
        return [_refused("permissions", exc)]
    wanted = needs(faults)
    if not granted:
        return [
            Finding(
                "blocker",
                "permissions",
                f"no role assignment gives this identity anything at {group_scope(target)}; "
                "assign it the flexchaos role (azure/flexchaos-role.json) on the resource group",
            )
        ]
    lacking = missing(granted, wanted)
    if not lacking:
        return [
            Finding(
                "ok",
                "permissions",
                f"all {len(wanted)} actions the run needs are granted at {group_scope(target)}",
            )
        ]
    return [
        Finding("blocker", "permissions", f"missing {need.text()} at {group_scope(target)}")
        for need in lacking
    ]


def _scale_set(scale_set: ScaleSet, target: FleetTarget) -> list[Finding]:
    found = [
        Finding("ok", "scale set", f"{scale_set.name}: Flexible orchestration")
        if scale_set.flexible
        else Finding(
            "blocker",
            "scale set",
            f"{scale_set.name} is {scale_set.orchestration_mode}; "
            "flexchaos acts on Flexible scale sets only",
        )
    ]
    if target.kind == "azure" and target.allow_tag is not None:
        key, value = target.allow_tag
        if scale_set.tags.get(key) == value:
            found.append(Finding("ok", "allow tag", f"{key}={value} present"))
        else:
            found.append(
                Finding(
                    "blocker",
                    "allow tag",
                    f"the scale set lacks the tag {key}={value} "
                    "(add it to allow chaos experiments, or pass --allow-tag)",
                )
            )
    return found


def _health_and_repairs(
    scale_set: ScaleSet, instances: Sequence[Instance], faults: Sequence[str]
) -> list[Finding]:
    relies = "break-extension" in faults
    without = [i.name for i in instances if i.health_extension is None]
    bad: Status = "blocker" if relies else "warn"
    found = [
        Finding("ok", "health extension", f"all {len(instances)} VMs run it")
        if not without
        else Finding(
            bad,
            "health extension",
            f"{without[0]} has no Application Health extension ({len(without)} of "
            f"{len(instances)} VMs lack it)" + ("; break-extension needs it" if relies else ""),
        )
    ]
    policy = (scale_set.raw.get("properties") or {}).get("automaticRepairsPolicy") or {}
    if policy.get("enabled"):
        found.append(
            Finding(
                "ok",
                "automatic repairs",
                f"enabled ({policy.get('repairAction') or 'Replace'} "
                f"after {policy.get('gracePeriod') or 'PT10M'})",
            )
        )
    else:
        found.append(  # a warning only: a set that never heals is the design's miss to judge
            Finding(
                "warn",
                "automatic repairs",
                "disabled" + ("; break-extension expects them to replace the VM" if relies else ""),
            )
        )
    return found


def _load_balancer(target: FleetTarget) -> Finding:
    if not target.load_balancer:
        return Finding(
            "warn",
            "load balancer",
            "none named (--load-balancer): detection time "
            "falls back to the last request each VM served",
        )
    try:
        with translated(f"read load balancer {target.load_balancer}"):
            lb = target.clients.network.load_balancers.get(
                target.resource_group, target.load_balancer
            ).as_dict()
    except AzureCallFailed as exc:
        return _refused("load balancer", exc)
    probe = lb_probe({"load_balancer": lb})
    if probe is None:
        return Finding(
            "blocker",
            "load balancer",
            f"{target.load_balancer} has no health probe: it would keep sending flows to a VM "
            "that is down",
        )
    return Finding(
        "ok",
        "load balancer",
        f"{target.load_balancer}, probe {probe.name} every {probe.interval_s:g} s "
        f"(threshold {probe.threshold})",
    )


def _spot(instances: Sequence[Instance], faults: Sequence[str]) -> list[Finding]:
    if not any(fault(f).spot_only for f in faults):
        return []
    running = [i.name for i in instances if i.spot and i.running]
    if running:
        return [Finding("ok", "Spot VMs", f"{len(running)} running Spot VM(s) to evict")]
    return [
        Finding(
            "blocker",
            "Spot VMs",
            "no running Spot VM in the set; the eviction experiment needs one",
        )
    ]


def _chaos(
    target: FleetTarget, instances: Sequence[Instance], faults: Sequence[str]
) -> list[Finding]:
    capabilities = {str(getattr(fault(f), "capability", "")) for f in faults} - {""}
    if not capabilities:
        return []
    enabled = 0
    vms = [i.name for i in instances if i.running][:MAX_CHAOS_VMS]
    for vm in vms:
        args = (target.resource_group, "Microsoft.Compute", "virtualMachines", vm, CHAOS_TARGET)
        try:
            with translated(f"read the Chaos Studio target of {vm}"):
                names = {c.name for c in target.clients.chaos.capabilities.list(*args)}
        except NotFound:  # not a Chaos Studio target yet
            names = set()
        except AzureCallFailed as exc:
            return [_refused("Chaos Studio", exc)]
        enabled += capabilities <= names
    wanted = ", ".join(sorted(str(c) for c in capabilities))
    return [
        Finding(
            "ok",
            "Chaos Studio",
            f"target {CHAOS_TARGET} with {wanted} enabled on "
            f"{enabled} of {len(vms)} VMs; the fault enables it on the VMs it picks",
        )
    ]


def headroom(headers: Mapping[str, str]) -> Finding:
    """x-ms-ratelimit-remaining-subscription-reads / -writes and Compute's
    x-ms-ratelimit-remaining-resource ('Microsoft.Compute/HighCostGet3Min;46,…')."""
    remaining: dict[str, int] = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered.startswith("x-ms-ratelimit-remaining-subscription-"):
            remaining[lowered.removeprefix("x-ms-ratelimit-remaining-")] = _int(value)
        elif lowered == "x-ms-ratelimit-remaining-resource":
            for part in value.split(","):
                bucket, _, left = part.partition(";")
                remaining[bucket.strip()] = _int(left)
    if not remaining:
        return Finding("info", "throttling headroom", "not reported by Resource Manager")
    low = {k: v for k, v in remaining.items() if v < LOW_HEADROOM}
    shown = ", ".join(f"{k} {v}" for k, v in sorted(remaining.items()))
    if any(v <= 0 for v in low.values()):
        return Finding(
            "blocker",
            "throttling headroom",
            f"a bucket is empty ({shown}); wait for it to refill before a game day",
        )
    if low:
        return Finding("warn", "throttling headroom", f"low: {shown}")
    return Finding("ok", "throttling headroom", shown)


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        return 0


def run_preflight(
    target: FleetTarget, faults: Iterable[str], *, say: Callable[[str], None] | None = None
) -> Preflight:
    """Every check, in order, reads only; `say` is told each finding as it is made."""
    names = list(dict.fromkeys(faults))
    findings: list[Finding] = []
    if not names:
        return Preflight(findings)

    def add(*new: Finding) -> None:
        for f in new:
            findings.append(f)
            if say is not None:
                say(f.line())

    add(_credential(target))
    if findings[-1].status == "blocker":
        return Preflight(findings)
    add(*_permissions(target, names))
    if findings[-1].status == "blocker":  # every later read would only repeat the refusal
        return Preflight(findings)
    try:
        scale_set = Inventory(target).scale_set()
    except AzureCallFailed as exc:
        add(_refused("scale set", exc))
        return Preflight(findings)
    except FlexchaosError as exc:
        add(Finding("blocker", "scale set", str(exc)))
        return Preflight(findings)
    add(*_scale_set(scale_set, target))
    try:
        with translated(f"list the VMs of scale set '{target.scale_set}'"):
            pages = target.clients.compute.virtual_machines.list(
                target.resource_group,
                filter=vm_filter(target.scale_set_id),
                expand="instanceView",
            )
            raw = [v.as_dict() for v in pages]
        instances = [Instance.from_vm(v) for v in raw]
    except AzureCallFailed as exc:
        add(_refused("VMs", exc))
        return Preflight(findings)
    add(*_health_and_repairs(scale_set, instances, names))
    add(_load_balancer(target))
    add(*_spot(instances, names))
    add(*_chaos(target, instances, names))
    add(headroom(dict(target.clients.call_log.budget_headers)))  # the latest answer's
    return Preflight(findings)
