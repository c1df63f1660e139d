"""The blast-radius guard: rules checked on read-only facts before any mutating call.

A refusal is one line naming the rule and the value that broke it; the caller makes no
mutating call after a refusal. The rules (in the order checked): Flexible orchestration only;
on Azure the scale set carries the allow tag; only members of the target set; evict only on
Spot VMs; at most max_unavailable VMs out at once (VMs already not running or not healthy
count); never below the healthy-capacity floor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from fleet.inventory import Instance, ScaleSet
from fleet.target import FleetTarget
from flexchaos.errors import FlexchaosError, GuardRefusal

DEFAULT_MAX_UNAVAILABLE = "50%"
DEFAULT_FLOOR = 0.5


def require_flexible(scale_set: ScaleSet) -> None:
    """The first rule, also checked on its own before anything else is read."""
    if not scale_set.flexible:
        raise GuardRefusal(
            "orchestration",
            f"scale set '{scale_set.name}' uses {scale_set.orchestration_mode} orchestration; "
            "flexchaos acts only on Flexible scale sets",
        )


def parse_max_unavailable(value: int | str) -> int | str:
    """Accept 2, "2" or "34%"; anything else is a one-line error."""
    text = str(value).strip()
    try:
        if text.endswith("%"):
            percent = float(text[:-1])
            if not 0 <= percent <= 100:
                raise ValueError
            return f"{percent:g}%"
        count = int(text)
        if count < 0:
            raise ValueError
        return count
    except ValueError:
        raise FlexchaosError(
            f"max_unavailable {value!r} is neither a count (e.g. 2) nor a percent (e.g. 34%)"
        ) from None


@dataclass(frozen=True)
class GuardLimits:
    """How much of the set may be out at once (count or percent, rounded down) and the floor of
    healthy capacity (fraction of the set's size) that must remain."""

    max_unavailable: int | str = DEFAULT_MAX_UNAVAILABLE
    floor: float = DEFAULT_FLOOR

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_unavailable", parse_max_unavailable(self.max_unavailable))
        if not 0.0 <= self.floor <= 1.0:
            raise FlexchaosError(f"floor {self.floor} must be a fraction between 0 and 1")

    def max_unavailable_count(self, size: int) -> int:
        if isinstance(self.max_unavailable, int):
            return self.max_unavailable
        return math.floor(size * float(self.max_unavailable[:-1]) / 100 + 1e-9)


@dataclass(frozen=True)
class GuardVerdict:
    """What the guard saw when it allowed a fault (kept in the plan and the journal)."""

    size: int
    unavailable_before: int
    unavailable_after: int
    max_unavailable: int
    healthy_after: int
    floor_count: int

    def text(self) -> str:
        return (
            f"{self.unavailable_after}/{self.size} unavailable after inject "
            f"(max {self.max_unavailable}); {self.healthy_after} healthy (floor {self.floor_count})"
        )


def check(
    target: FleetTarget,
    scale_set: ScaleSet,
    instances: Sequence[Instance],
    fault: str,
    names: Sequence[str],
    limits: GuardLimits,
    *,
    spot_only: bool = False,
) -> GuardVerdict:
    """Raise GuardRefusal on the first broken rule; return the counts when all pass."""
    require_flexible(scale_set)
    if target.kind == "azure" and target.allow_tag is not None:
        key, value = target.allow_tag
        found = scale_set.tags.get(key)
        if found != value:
            shown = "missing" if found is None else f"{key}={found}"
            raise GuardRefusal(
                "allow_tag",
                f"scale set '{scale_set.name}' lacks the tag {key}={value} ({shown}); "
                "tag the set to allow chaos on it",
            )
    members = {i.name: i for i in instances}
    outsiders = [n for n in names if n not in members]
    if outsiders:
        raise GuardRefusal(
            "membership",
            f"VM {', '.join(repr(n) for n in outsiders)} is not a member of scale set "
            f"'{scale_set.name}'",
        )
    not_running = [n for n in names if members[n].power_state != "running"]
    if not_running:
        # A revert starts what it faulted: a VM that was already down must stay down.
        states = ", ".join(f"'{n}' is {members[n].power_state}" for n in not_running)
        raise GuardRefusal(
            "running",
            f"{fault} acts only on running VMs; {states}; start it or choose other VMs",
        )
    if spot_only:
        regular = [n for n in names if not members[n].spot]
        if regular:
            raise GuardRefusal(
                "spot_only",
                f"{fault} works only on Spot VMs; {', '.join(repr(n) for n in regular)} "
                f"has priority Regular",
            )
    size = len(instances)
    unavailable_before = sum(1 for i in instances if not i.healthy)
    newly_out = sum(1 for n in names if members[n].healthy)
    unavailable_after = unavailable_before + newly_out
    allowed = limits.max_unavailable_count(size)
    if unavailable_after > allowed:
        raise GuardRefusal(
            "max_unavailable",
            f"{fault} on {len(names)} VM(s) would leave {unavailable_after} of {size} unavailable "
            f"({unavailable_before} already), over max_unavailable={limits.max_unavailable} "
            f"({allowed} VM(s))",
        )
    healthy_after = size - unavailable_after
    floor_count = math.ceil(size * limits.floor - 1e-9)
    if healthy_after < floor_count:
        raise GuardRefusal(
            "floor",
            f"{fault} on {len(names)} VM(s) would leave {healthy_after} of {size} healthy, "
            f"under the floor {limits.floor:g} ({floor_count} VM(s))",
        )
    return GuardVerdict(
        size, unavailable_before, unavailable_after, allowed, healthy_after, floor_count
    )
