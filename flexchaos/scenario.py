"""What one experiment does: its fault, which VMs, how long, and the hypothesis it tests.

A scenario is declared on a test with the `chaos` marker; its durations are platform seconds
(what they would be on Azure), converted to wall time with the fleet's time scale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleet.faults import fault as find_fault
from fleet.selection import Selection
from flexchaos.errors import FlexchaosError

# words an experiment's name spells in lower case that its title must not
ACRONYMS = {"vm": "VM", "vms": "VMs", "lb": "LB", "chaos": "Chaos", "studio": "Studio"}


@dataclass(frozen=True)
class Scenario:
    """One experiment. Durations in platform seconds."""

    name: str
    fault: str
    selection: Selection = field(default_factory=lambda: Selection(count=1))
    options: dict[str, Any] = field(default_factory=dict)
    hypothesis: str = ""
    title: str = ""
    baseline_s: float = 30.0
    hold_s: float = 60.0
    recovery_limit_s: float = 600.0
    platform_heals: bool = False  # the platform repairs it: the harness does not revert
    severity: str = "critical"
    abort_error_rate: float = 0.5  # over the trailing probe window, ends the hold early
    abort_capacity_floor: float = 0.0  # healthy capacity under this ends the hold early

    def __post_init__(self) -> None:
        """Checked when the experiment is collected, before the emulator or anything starts."""
        for name in ("baseline_s", "hold_s", "recovery_limit_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise FlexchaosError(
                    f"scenario {self.name}: {name} must be a number > 0 platform seconds, "
                    f"got {value!r}"
                )
        try:
            find_fault(self.fault).validate(self.options, self.hold_s)
        except FlexchaosError as exc:
            raise FlexchaosError(f"@pytest.mark.chaos on {self.name}: {exc}") from None

    @classmethod
    def from_marker(cls, name: str, kwargs: dict[str, Any]) -> Scenario:
        """Build from `@pytest.mark.chaos(fault=..., select=..., ...)`; unknown keys are errors."""
        values = dict(kwargs)
        select = values.pop("select", None)
        if isinstance(select, dict):
            select = Selection(**select)
        known = set(cls.__dataclass_fields__) - {"name", "selection"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise FlexchaosError(
                f"@pytest.mark.chaos on {name}: unknown argument(s) {', '.join(unknown)}; "
                f"known: select, {', '.join(sorted(known))}"
            )
        if "fault" not in values:
            raise FlexchaosError(f"@pytest.mark.chaos on {name} needs fault=...")
        if select is not None:
            values["selection"] = select
        return cls(name=name, **values)

    @property
    def display_title(self) -> str:
        if self.title:
            return self.title
        words = self.name.removeprefix("test_").split("_")
        shown = [ACRONYMS.get(w, w) for w in words]
        return " ".join([shown[0][:1].upper() + shown[0][1:], *shown[1:]])
