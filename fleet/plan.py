"""The plan of a fault: which VMs, which calls, which reverts, and what the guard says.

Building a plan only reads (the scale set and one VM listing). The dry run prints it; an
injection builds the very same plan and then carries it out, so what was shown is what runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fleet.faults import Fault, fault
from fleet.guard import GuardLimits, GuardVerdict, check
from fleet.inventory import Instance, Inventory, Sample, ScaleSet
from fleet.selection import Selected, Selection, select
from fleet.target import FleetTarget
from flexchaos.errors import GuardRefusal


@dataclass(frozen=True)
class Step:
    """One VM's part of the plan."""

    vm: str
    instance: Instance | None
    inject: list[str] = field(hash=False)
    revert: list[str] = field(hash=False)


@dataclass(frozen=True)
class Plan:
    target: FleetTarget
    fault: Fault
    options: dict[str, Any] = field(hash=False)
    selected: Selected
    steps: list[Step] = field(hash=False)
    shared_calls: list[str] = field(hash=False)
    scale_set: ScaleSet
    sample: Sample
    limits: GuardLimits
    verdict: GuardVerdict | None
    refusal: GuardRefusal | None
    hold_s: float

    @property
    def allowed(self) -> bool:
        return self.refusal is None

    @property
    def instances(self) -> list[Instance]:
        return [step.instance for step in self.steps if step.instance is not None]

    def text(self) -> str:
        f = self.fault
        shown = {k: v for k, v in self.options.items() if v is not None}
        lines = [
            f"plan: {f.name} on {self.target.describe()}",
            f"  fault: {f.summary}" + (f"; options {shown}" if shown else ""),
            f"  selection: {self.selected.criteria} → {len(self.selected.names)} of "
            f"{len(self.sample.instances)} VMs",
        ]
        if self.refusal is not None:
            lines.append(f"  {self.refusal}")
        elif self.verdict is not None:
            lines.append(f"  guard: allowed; {self.verdict.text()}")
        for step in self.steps:
            inst = step.instance
            where = (
                f" (zone {inst.zone}, fd {inst.fault_domain}, {inst.priority}, "
                f"{inst.power_state}/{inst.health_state or 'no health'})"
                if inst
                else " (not a member of the set)"
            )
            lines.append(f"  - {step.vm}{where}")
            lines += [f"      inject: {c}" for c in step.inject]
            lines += [f"      revert: {c}" for c in step.revert] or ["      revert: none"]
        if self.shared_calls:
            lines.append("  calls, in order:")
            lines += [f"    {c}" for c in self.shared_calls]
        lines.append("  journal: an entry is written and fsynced before any mutating call")
        return "\n".join(lines)


def build_plan(
    target: FleetTarget,
    fault_name: str,
    selection: Selection | None = None,
    options: Mapping[str, Any] | None = None,
    limits: GuardLimits | None = None,
    *,
    hold_s: float = 60.0,
    inventory: Inventory | None = None,
) -> Plan:
    """Read the fleet and work out the plan; never mutates anything."""
    f = fault(fault_name)
    opts = f.check_options(options or {})
    inventory = inventory or Inventory(target)
    limits = limits or GuardLimits()
    scale_set = inventory.scale_set()
    sample = inventory.sample()
    selected = select(sample.instances, f.takes_out(opts, selection or Selection()))
    refusal: GuardRefusal | None = None
    verdict: GuardVerdict | None = None
    try:
        verdict = check(
            target, scale_set, sample.instances, f.name, selected.names, limits,
            spot_only=f.spot_only,
        )  # fmt: skip
    except GuardRefusal as exc:
        refusal = exc
    members = sample.by_name()
    calls = f.plan_calls(target, selected.names, opts, hold_s)
    steps = [Step(vm, members.get(vm), *calls.per_vm.get(vm, ([], []))) for vm in selected.names]
    return Plan(
        target, f, opts, selected, steps, calls.shared, scale_set, sample, limits, verdict,
        refusal, hold_s,
    )  # fmt: skip
