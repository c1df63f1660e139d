"""Fault drivers: every fault flexchaos can inject, behind one interface (fleet/faults/base.py).

One module per family — power (stop, deallocate, zone down, restart, redeploy), Spot eviction,
health extension, Chaos Studio — each listing its faults in FAULTS. The registry below is what
the injector, the plan, the pytest marker and `flexchaos rollback` look faults up in. Adding a
fault: docs/internals.md, "Add a fault".
"""

from __future__ import annotations

import difflib

from fleet.faults import chaos_studio, health_extension, power, spot
from fleet.faults.base import Effect, Fault, HoldEnd, Intent, PlanCalls, Proof, Seen
from flexchaos.errors import FlexchaosError

FAULTS: dict[str, Fault] = {
    f.name: f for family in (power, spot, health_extension, chaos_studio) for f in family.FAULTS
}
# Journal kinds written by earlier versions, so that their entries still roll back.
JOURNAL_ALIASES = {"chaos_shutdown": "chaos-shutdown"}


def register(new: Fault) -> Fault:
    """Add a fault (e.g. one defined outside this package); its name must be new."""
    if new.name in FAULTS:
        raise ValueError(f"a fault named {new.name!r} is already registered")
    FAULTS[new.name] = new
    return new


def fault(name: str) -> Fault:
    """The fault of that name; an unknown name is one line with the nearest names."""
    try:
        return FAULTS[name]
    except KeyError:
        near = difflib.get_close_matches(str(name), FAULTS, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        raise FlexchaosError(
            f"unknown fault {name!r}; {hint}choose one of {', '.join(FAULTS)}"
        ) from None


def for_journal_kind(kind: str) -> Fault | None:
    """The fault that reverts a journal entry of this kind (None: no such fault here)."""
    return FAULTS.get(JOURNAL_ALIASES.get(kind, kind))


__all__ = [
    "FAULTS",
    "Effect",
    "Fault",
    "HoldEnd",
    "Intent",
    "PlanCalls",
    "Proof",
    "Seen",
    "fault",
    "for_journal_kind",
    "register",
]
