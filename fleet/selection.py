"""Which VMs a fault acts on: filters (name, zone, fault domain, priority, tag) then an optional
random choice (count or percent) whose seed is always recorded, so a run can be repeated.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from fleet.inventory import Instance
from flexchaos.errors import FlexchaosError


def new_seed() -> int:
    return random.SystemRandom().randrange(2**31)


@dataclass(frozen=True)
class Selection:
    """Criteria; empty criteria select every VM. names are kept even when not in the set (the
    guard refuses them by name, so a typo is reported rather than silently skipped)."""

    names: tuple[str, ...] = ()
    count: int | None = None
    percent: float | None = None
    zone: str | None = None
    fault_domain: int | None = None
    priority: str | None = None  # "Spot" | "Regular"
    tags: dict[str, str] = field(default_factory=dict, hash=False)
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.count is not None and self.percent is not None:
            raise FlexchaosError(
                "choose either a count or a percent of VMs (--count or --percent), not both"
            )
        if self.count is not None and self.count < 1:
            raise FlexchaosError(f"count (--count) {self.count} must be at least 1")
        if self.percent is not None and not 0 < self.percent <= 100:
            raise FlexchaosError(f"percent (--percent) {self.percent:g} must be in (0, 100]")
        if self.priority is not None and self.priority not in ("Spot", "Regular"):
            raise FlexchaosError(f"priority {self.priority!r} must be Spot or Regular")
        if self.zone is not None:
            object.__setattr__(self, "zone", str(self.zone))
        object.__setattr__(self, "names", tuple(self.names))

    def with_seed(self) -> Selection:
        """The same selection with its seed fixed (a fresh random one if none was given)."""
        return self if self.seed is not None else replace(self, seed=new_seed())

    def describe(self) -> str:
        parts: list[str] = []
        if self.names:
            parts.append("names=" + ",".join(self.names))
        if self.zone is not None:
            parts.append(f"zone={self.zone}")
        if self.fault_domain is not None:
            parts.append(f"fault_domain={self.fault_domain}")
        if self.priority is not None:
            parts.append(f"priority={self.priority}")
        parts += [f"tag {k}={v}" for k, v in sorted(self.tags.items())]
        if self.count is not None:
            parts.append(f"count={self.count}")
        if self.percent is not None:
            parts.append(f"percent={self.percent:g}")
        parts.append(f"seed={self.seed}")
        return ", ".join(parts) if len(parts) > 1 else f"all VMs, seed={self.seed}"


@dataclass(frozen=True)
class Selected:
    """The outcome: VM names in a stable order, and the seed that chose them."""

    names: tuple[str, ...]
    seed: int
    criteria: str


def matches(instance: Instance, selection: Selection) -> bool:
    return (
        (selection.zone is None or instance.zone == selection.zone)
        and (selection.fault_domain is None or instance.fault_domain == selection.fault_domain)
        and (selection.priority is None or instance.priority == selection.priority)
        and all(instance.tags.get(k) == v for k, v in selection.tags.items())
    )


def select(instances: Sequence[Instance], selection: Selection) -> Selected:
    """Apply the criteria; an empty result is a one-line error naming the criteria."""
    chosen = selection.with_seed()
    assert chosen.seed is not None
    if chosen.names:
        known = {i.name: i for i in instances}
        pool_names = [n for n in chosen.names if n not in known or matches(known[n], chosen)]
    else:
        pool_names = [i.name for i in instances if matches(i, chosen)]
    pool_names = sorted(dict.fromkeys(pool_names))
    if not pool_names:
        raise FlexchaosError(
            f"the selection ({chosen.describe()}) matched none of the {len(instances)} VMs; "
            "widen it (check zone, priority and tags with `flexchaos plan`)"
        )
    wanted = len(pool_names)
    if chosen.count is not None:
        wanted = min(chosen.count, len(pool_names))
    elif chosen.percent is not None:
        wanted = max(1, math.ceil(len(pool_names) * chosen.percent / 100 - 1e-9))
    picked = pool_names
    if wanted < len(pool_names):
        picked = sorted(random.Random(chosen.seed).sample(pool_names, wanted))
    return Selected(tuple(picked), chosen.seed, chosen.describe())
