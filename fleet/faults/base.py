"""The one interface every fault implements, and the records it exchanges with the injector.

A fault is a driver: the injector (fleet/injector.py) runs every fault the same way — plan,
guard, journal, inject, hold, revert — and the experiment's lifecycle never knows which fault
it runs. A fault says:

- `name`, `summary`, `options` (validated when an experiment is collected, before anything runs);
- `actions`: the Azure RBAC actions its calls need and why (the preflight checks them);
- `takes_out(options, selection)`: which VMs it takes out, for the guard and the plan;
- `plan_calls(...)`: the calls it will make and their reverts, for the dry run;
- `prepare(...)`: read-only; one `Intent` per journal entry, carrying what its revert needs;
- `inject(ops, entry)`: the mutating calls, made only after the entry is journaled; an effect
  the platform takes a while to show names the power states that confirm it (`Effect.awaits`),
  and the injector confirms every VM's together;
- `hold(...)`: what happens while the fault is in (by default: wait, checking abort conditions);
- `revert(ops, entry)`: idempotent, used by the run and by `flexchaos rollback` alike; a revert
  the platform is still carrying out returns `Underway` (confirmed together, then journaled);
- `prove(injection, seen)`: what the observations show about whether it landed;
- `reverted_at(injection, seen)`: when the fault really ended, when that is not the revert call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from fleet.inventory import Instance
from fleet.journal import JournalEntry
from fleet.operations import VmOps
from fleet.selection import Selection
from fleet.target import FleetTarget
from flexchaos.errors import FlexchaosError


class NothingToRevert(str):
    """A revert outcome that says nothing needed undoing (the fault never landed, or was
    already reverted): still the phrase to print, so callers that only print it keep working;
    rollback reports it as "nothing to revert" rather than "reverted"."""


class Underway(str):
    """A revert outcome whose call was accepted but whose effect is still to be seen: `vm`
    must reach one of `awaits` (power states) before the revert is journaled as done. Reverts
    of many VMs are confirmed together (fleet/rollback.py), not one poll loop per VM."""

    vm: str
    awaits: tuple[str | None, ...]

    def __new__(cls, text: str, vm: str, awaits: tuple[str | None, ...]) -> Underway:
        made = super().__new__(cls, text)
        made.vm, made.awaits = vm, awaits
        return made


GONE = NothingToRevert("VM no longer exists (deleted or replaced meanwhile); nothing to revert")
NOT_RUNNING = ("stopped", "deallocated", "stopping", "deallocating", "starting", "deleted")


@dataclass(frozen=True)
class Intent:
    """One journal entry a fault will write before it injects: the VM (None for a fault that
    acts on several VMs at once, e.g. a Chaos Studio experiment) and its revert data."""

    vm: str | None
    revert: dict[str, Any]


@dataclass(frozen=True)
class Effect:
    """What one inject did: a phrase for people and details for the fault's own later steps."""

    text: str
    detail: dict[str, Any] = field(default_factory=dict, hash=False)
    requested_at: float | None = None  # when the call that injects was first sent
    accepted_at: float | None = None  # when the platform accepted it (its 2xx answer)
    # power states of the VM that show the effect: the injector waits for them (all VMs of
    # the fault together) before the injection counts as done; () = done when inject returns
    awaits: tuple[str | None, ...] = ()


@dataclass(frozen=True)
class PlanCalls:
    """The calls a fault makes, for the plan: per VM (inject, revert) and once for all VMs."""

    per_vm: dict[str, tuple[list[str], list[str]]]
    shared: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Seen:
    """One VM as one capacity sample showed it (observations the proof and revert time use).
    power_state "deleted" means the VM was no longer listed."""

    time: float
    vm: str
    power_state: str
    health_state: str | None


@dataclass(frozen=True)
class Proof:
    """Whether the observations show the fault landed, and the evidence in one phrase."""

    proved: bool
    evidence: str


@dataclass(frozen=True)
class HoldEnd:
    """How a hold ended: `aborted` is the abort condition that ended it early, if any."""

    aborted: str | None = None
    detail: str = ""


AbortCheck = Callable[[], "str | None"]


class Injection(Protocol):
    """What a fault reads back about its own injection (fleet.injector.Injection has it)."""

    @property
    def requested_at(self) -> float: ...
    @property
    def vms(self) -> tuple[str, ...]: ...
    @property
    def entries(self) -> list[JournalEntry]: ...
    @property
    def effects(self) -> dict[str, Effect]: ...


class Fault:
    """Base class: the default behaviour of a fault the harness injects and reverts per VM."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    revertible: ClassVar[bool] = True
    spot_only: ClassVar[bool] = False
    options: ClassVar[Mapping[str, Any]] = {}  # option → default
    # The Azure RBAC actions its inject and revert calls need → what for (the preflight checks
    # them; azure/flexchaos-role.json grants those of the default game day).
    actions: ClassVar[Mapping[str, str]] = {}

    # -- before anything runs --------------------------------------------------------------
    def check_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """The options merged with their defaults; an unknown option is a one-line error."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            allowed = ", ".join(sorted(self.options)) or "none"
            raise FlexchaosError(
                f"fault {self.name} has no option {', '.join(unknown)} (options: {allowed})"
            )
        return {**self.options, **options}

    def validate(self, options: Mapping[str, Any], hold_s: float) -> dict[str, Any]:
        """Everything that can be checked before a run: the options and the hold time."""
        return self.check_options(options)

    def takes_out(self, options: Mapping[str, Any], selection: Selection) -> Selection:
        """The VMs this fault takes out (zone-down replaces the user's selection by its zone)."""
        return selection

    def plan_calls(
        self, target: FleetTarget, vms: Sequence[str], options: Mapping[str, Any], hold_s: float
    ) -> PlanCalls:
        rg = target.resource_group
        return PlanCalls(
            {vm: (self.inject_calls(rg, vm, options), self.revert_calls(rg, vm, options))
             for vm in vms}
        )  # fmt: skip

    def inject_calls(self, rg: str, vm: str, options: Mapping[str, Any]) -> list[str]:
        raise NotImplementedError

    def revert_calls(self, rg: str, vm: str, options: Mapping[str, Any]) -> list[str]:
        return []

    # -- injecting -------------------------------------------------------------------------
    def prepare(
        self, ops: VmOps, instances: Sequence[Instance], options: Mapping[str, Any], hold_s: float
    ) -> list[Intent]:
        """Read-only: one journal entry per VM, with what the revert will need."""
        return [Intent(i.name, {"options": dict(options)}) for i in instances]

    def inject(self, ops: VmOps, entry: JournalEntry) -> Effect:
        raise NotImplementedError

    def hold(
        self, ops: VmOps, injection: Injection, deadline: float, tick_s: float, abort: AbortCheck
    ) -> HoldEnd:
        """Keep the fault in until `deadline` (time.monotonic()), checking `abort` every tick."""
        while time.monotonic() < deadline:
            reason = abort()
            if reason:
                return HoldEnd(aborted=reason)
            time.sleep(min(tick_s, max(0.0, deadline - time.monotonic())))
        return HoldEnd(detail="hold time over")

    def revert(self, ops: VmOps, entry: JournalEntry) -> str:
        """Undo the fault, idempotently, from the entry alone; return what was done (a
        NothingToRevert when nothing needed doing). Never wait long for nothing."""
        return NothingToRevert(f"{self.name} has no revert; nothing to do")

    # -- what the observations show ----------------------------------------------------------
    def prove(self, injection: Injection, seen: Sequence[Seen]) -> Proof:
        """Default: every target VM was seen out of `running` after the fault was requested."""
        return seen_out_of_running(injection.vms, seen, injection.requested_at)

    def landed_at(self, injection: Injection) -> float | None:
        """When the platform began the fault, when that is later than the injecting call (a
        service that queues it); None: at the call."""
        return None

    def reverted_at(self, injection: Injection, seen: Sequence[Seen]) -> float | None:
        """When the fault really ended; None when that is the harness's revert call."""
        return None


def seen_out_of_running(vms: Sequence[str], seen: Sequence[Seen], since: float) -> Proof:
    """Proof that each VM was seen not running at some sample after `since`."""
    if not vms:
        return Proof(False, "no VM was targeted")
    down: dict[str, str] = {}
    for s in seen:
        if s.time >= since and s.vm in vms and s.vm not in down and s.power_state != "running":
            down[s.vm] = s.power_state
    missing = [vm for vm in vms if vm not in down]
    if missing:
        return Proof(
            False, f"{', '.join(missing)} never seen out of running in the capacity samples"
        )
    return Proof(True, "; ".join(f"{vm} seen {state}" for vm, state in down.items()))
