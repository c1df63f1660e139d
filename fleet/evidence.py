"""Read-only evidence of a fleet, and the drift between two snapshots.

A snapshot holds the scale set, every VM with its instance view and extensions, and the load
balancer (when its name is known), all as JSON-serialisable wire dicts. The drift report
compares two snapshots and ignores what always changes (timestamps, status times, etags,
the snapshot's own time). VMs that disappeared and VMs that appeared in the same numbers are
paired as replacements ("replaced: old → new", e.g. automatic repairs with Replace); every
difference that names a replaced VM is attributed to its replacement, not reported as drift.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleet.azure_errors import translated
from fleet.budget import pace
from fleet.inventory import Instance, Inventory
from fleet.target import FleetTarget
from flexchaos.errors import NotFound

IGNORED_KEYS = frozenset(
    {
        "time",
        "etag",
        "timeCreated",
        "startTime",
        "endTime",
        "lastModifiedTime",
        "lastUpdatedTime",
        "taken_at",
        "lastActionAt",
    }
)
MAX_SHOWN = 40
IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def snapshot(target: FleetTarget, *, inventory: Inventory | None = None) -> dict[str, Any]:
    """Everything the harness can read about the fleet, as one JSON-serialisable dict."""
    inventory = inventory or Inventory(target)
    compute = target.clients.compute
    scale_set = inventory.scale_set()
    vms: dict[str, Any] = {}
    for vm in inventory.raw_vms():
        name = vm["name"]
        pace(target, "arm-reads")  # a read per VM
        try:
            with translated(f"list the extensions of {name}"):
                extensions = compute.virtual_machine_extensions.list(
                    target.resource_group, name
                ).as_dict()
            vm["extensions"] = sorted(
                extensions.get("value") or [], key=lambda e: str(e.get("name"))
            )
        except NotFound:  # deleted between the listing and this call
            vm["extensions"] = []
        vms[name] = vm
    load_balancer: dict[str, Any] | None = None
    if target.load_balancer:
        try:
            with translated(f"read load balancer '{target.load_balancer}'"):
                load_balancer = target.clients.network.load_balancers.get(
                    target.resource_group, target.load_balancer
                ).as_dict()
        except NotFound:
            load_balancer = {"missing": target.load_balancer}
    return {
        "taken_at": time.time(),
        "target": {k: v for k, v in target.to_json().items() if k != "emulator_token"},
        "scale_set": scale_set.raw,
        "vms": vms,
        "load_balancer": load_balancer,
    }


def instances_of(snap: Mapping[str, Any]) -> list[Instance]:
    return [Instance.from_vm(vm) for vm in snap["vms"].values()]


@dataclass(frozen=True)
class LbProbe:
    """A load balancer's health probe as a snapshot shows it: every `interval_s` seconds,
    `threshold` consecutive failures to take a backend out of rotation."""

    name: str
    interval_s: float
    threshold: int


def lb_probe(snap: Mapping[str, Any]) -> LbProbe | None:
    """The probe behind the load balancer's rules, or None when no load balancer was read.

    With several, the quickest one: a limit is refused only when no probe could meet it.
    Azure's `probeThreshold` may be absent on older load balancers; it then counts as 1."""
    lb = snap.get("load_balancer") or {}
    body = lb.get("properties") or lb
    probes = []
    for probe in body.get("probes") or []:
        props = probe.get("properties") or probe
        interval = props.get("intervalInSeconds", props.get("interval_in_seconds"))
        threshold = props.get("probeThreshold", props.get("probe_threshold")) or 1
        if isinstance(interval, int | float) and interval > 0:
            probes.append(LbProbe(str(probe.get("name", "")), float(interval), int(threshold)))
    return min(probes, key=lambda p: p.interval_s * p.threshold, default=None)


def normalise(value: Any) -> Any:
    """Drop ignored keys; turn lists of named objects into dicts keyed by name (order-free)."""
    if isinstance(value, Mapping):
        return {k: normalise(v) for k, v in value.items() if k not in IGNORED_KEYS}
    if isinstance(value, list):
        items = [normalise(v) for v in value]
        keys = [_list_key(v) for v in items]
        if items and all(k is not None for k in keys) and len(set(keys)) == len(keys):
            return {f"[{k}]": v for k, v in zip(keys, items, strict=True)}
        return items
    return value


def _list_key(item: Any) -> str | None:
    if isinstance(item, Mapping):
        for key in ("name", "id", "code"):
            if isinstance(item.get(key), str):
                return item[key]
    return None


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': 1}} → {'a.b': 1}; lists by index."""
    out: dict[str, Any] = {}
    if isinstance(value, Mapping):
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
        if not value:
            out[prefix] = []
    else:
        out[prefix] = value
    return out


@dataclass(frozen=True)
class Change:
    path: str
    before: Any
    after: Any

    def line(self) -> str:
        return f"{self.path}: {self.before!r} → {self.after!r}"


@dataclass
class Drift:
    """Differences between two snapshots: unexplained changes, and replacements."""

    changes: list[Change] = field(default_factory=list)
    replaced: list[tuple[str, str]] = field(default_factory=list)
    explained: list[Change] = field(default_factory=list)  # follow from a VM that came or went
    removed: list[str] = field(default_factory=list)  # unpaired
    added: list[str] = field(default_factory=list)  # unpaired

    @property
    def empty(self) -> bool:
        """No drift at all apart from replacements (which the report states)."""
        return not (self.changes or self.removed or self.added)

    @property
    def none(self) -> bool:
        """Nothing at all changed, not even a replacement."""
        return self.empty and not self.replaced

    def text(self) -> str:
        lines: list[str] = []
        for old, new in self.replaced:
            lines.append(
                f"replaced: {old} → {new} (a new VM took its place, e.g. automatic "
                "repairs with Replace)"
            )
        lines += [f"removed: {name}" for name in self.removed]
        lines += [f"added: {name}" for name in self.added]
        lines += [c.line() for c in self.changes[:MAX_SHOWN]]
        if len(self.changes) > MAX_SHOWN:
            lines.append(f"... and {len(self.changes) - MAX_SHOWN} more changes")
        if not lines:
            return "no drift"
        if self.empty:
            lines.append("no other drift")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "empty": self.empty,
            "replaced": [{"old": o, "new": n} for o, n in self.replaced],
            "removed": self.removed,
            "added": self.added,
            "changes": [
                {"path": c.path, "before": c.before, "after": c.after} for c in self.changes
            ],
            "explained": [
                {"path": c.path, "before": c.before, "after": c.after} for c in self.explained
            ],
        }


def pair_replacements(
    before: Mapping[str, Any], after: Mapping[str, Any], removed: list[str], added: list[str]
) -> list[tuple[str, str]]:
    """Pair removed with added VMs, preferring the same zone, then by name order."""

    def zone(vm: Mapping[str, Any]) -> str:
        return str((vm.get("zones") or [""])[0])

    pairs: list[tuple[str, str]] = []
    left = sorted(added)
    for old in sorted(removed):
        if not left:
            break
        same_zone = [n for n in left if zone(after[n]) == zone(before[old])]
        new = (same_zone or left)[0]
        left.remove(new)
        pairs.append((old, new))
    return pairs


def drift(before: Mapping[str, Any], after: Mapping[str, Any]) -> Drift:
    """What changed between two snapshots, ignoring what always changes."""
    report = Drift()
    vms_before, vms_after = before.get("vms") or {}, after.get("vms") or {}
    removed = sorted(set(vms_before) - set(vms_after))
    added = sorted(set(vms_after) - set(vms_before))
    report.replaced = pair_replacements(vms_before, vms_after, removed, added)
    paired = {n for pair in report.replaced for n in pair}
    report.removed = [n for n in removed if n not in paired]
    report.added = [n for n in added if n not in paired]
    # differences that name a VM which came or went belong to that fact, already reported
    tokens = set(removed) | set(added)
    for name in removed:
        tokens |= _addresses(vms_before[name])
    for name in added:
        tokens |= _addresses(vms_after[name])
    left = {k: v for k, v in before.items() if k not in ("vms", "taken_at")}
    right = {k: v for k, v in after.items() if k not in ("vms", "taken_at")}
    left["vms"] = {n: vms_before[n] for n in vms_before if n in vms_after}
    right["vms"] = {n: vms_after[n] for n in vms_after if n in vms_before}
    mentions = (
        re.compile("|".join(rf"(?<![0-9A-Za-z_]){re.escape(t)}(?![0-9A-Za-z_])" for t in tokens))
        if tokens
        else None
    )
    flat_before, flat_after = flatten(normalise(left)), flatten(normalise(right))
    for path in sorted(set(flat_before) | set(flat_after)):
        old, new = flat_before.get(path), flat_after.get(path)
        if old == new:
            continue
        change = Change(path, old, new)
        text = f"{path} {old!r} {new!r}"
        if mentions is not None and mentions.search(text):
            report.explained.append(change)
        else:
            report.changes.append(change)
    return report


def _addresses(vm: Any) -> set[str]:
    """IP addresses a VM's body carries (its load-balancer membership may be by address)."""
    return {v for v in flatten(vm).values() if isinstance(v, str) and IPV4.match(v)}
