"""Inject any fault with the journal and the guard, hold it, and always revert it: the one path
every fault takes, Chaos Studio's included.

    with Injector(target, Journal(path)) as chaos:
        injection = chaos.inject("stop", Selection(count=1))
        chaos.hold(injection, wall_s=60, tick_s=1, abort=lambda: None)
        chaos.revert(injection)            # or leave it to the end of the block

Every inject builds the plan (reads only), lets the guard refuse before any mutating call,
writes and fsyncs the fault's journal entries (one per VM, or one per Chaos Studio experiment),
then calls the fault. Leaving the block — normally, by an exception, or by SIGINT/SIGTERM —
reverts whatever this injector left in. The injector knows no fault by name: it only calls the
interface of fleet/faults/base.py.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from typing import Any

from fleet.faults import Effect, Fault, HoldEnd, Proof, Seen
from fleet.guard import GuardLimits
from fleet.journal import DEFAULT_JOURNAL, Journal, JournalEntry, new_entry
from fleet.operations import VmOps
from fleet.plan import Plan, build_plan
from fleet.rollback import RevertResult, revert_entries
from fleet.selection import Selection
from fleet.signals import Signals, revert_on_signals
from fleet.target import FleetTarget
from flexchaos.errors import FlexchaosError

MAX_PARALLEL = 16  # see fleet/budget.py: 16 operations polled ~once a platform second fit ARM reads


@dataclass
class Injection:
    """One inject call: its plan, the journal entries written and what each inject did.

    requested_at is when the first call that injects the fault was first sent, accepted_at
    when the platform accepted it (its 2xx answer, after any retries the SDK made of 429s and
    5xx): the fault clock starts there (epoch seconds; None when no call reports it)."""

    plan: Plan
    requested_at: float = 0.0
    accepted_at: float | None = None
    entries: list[JournalEntry] = field(default_factory=list)
    effects: dict[str, Effect] = field(default_factory=dict)  # entry id → effect
    errors: dict[str, str] = field(default_factory=dict)  # entry's VM (or fault) → error

    @property
    def fault(self) -> Fault:
        return self.plan.fault

    @property
    def clock_start(self) -> float:
        """Where the fault clock starts: the platform's acceptance, else the first send."""
        return self.accepted_at or self.requested_at

    def sent_note(self) -> str | None:
        """When the injecting call was first sent, before the platform accepted it."""
        if self.accepted_at is None:
            return None
        return f"call sent {self.accepted_at - self.requested_at:.3f} s wall before accepted"

    @property
    def vms(self) -> tuple[str, ...]:
        return self.plan.selected.names

    @property
    def seed(self) -> int:
        return self.plan.selected.seed

    def accepted_by_vm(self) -> dict[str, float]:
        """VM → when the platform accepted its own call: a fault on many VMs goes in waves
        (MAX_PARALLEL calls at once, paced by Resource Manager's write budget), and each VM's
        detection runs from its own call, not the first."""
        found: dict[str, float] = {}
        for entry in self.entries:
            effect = self.effects.get(entry.id)
            if entry.vm and effect is not None and effect.accepted_at is not None:
                found[entry.vm] = effect.accepted_at
        return found

    @property
    def outcomes(self) -> dict[str, str]:
        """What each inject did, by VM (or by the fault's name for a multi-VM entry)."""
        return {
            (e.vm or e.fault): self.effects[e.id].text for e in self.entries if e.id in self.effects
        }


class Injector:
    """A context that injects through the guard and the journal and reverts on the way out."""

    def __init__(
        self,
        target: FleetTarget,
        journal: Journal | None = None,
        limits: GuardLimits | None = None,
        *,
        timeout_s: float | None = None,
        handle_signals: bool = True,
        run: str | None = None,
    ) -> None:
        self.target = target
        self.journal = journal or Journal(DEFAULT_JOURNAL)
        self.limits = limits or GuardLimits()
        self.timeout_s = timeout_s
        self.handle_signals = handle_signals
        self.run = run or uuid.uuid4().hex[:12]
        self.ops = VmOps(target, timeout_s)
        self.ops.run_id = self.run
        self._open: list[JournalEntry] = []
        self._stack = ExitStack()
        self._signals: Signals | None = None
        self.reverted: list[RevertResult] = []

    def __enter__(self) -> Injector:
        if self.handle_signals:
            self._signals = self._stack.enter_context(revert_on_signals())
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        try:
            if self._signals is not None:
                with self._signals.deferred():  # a signal now must not cut a revert short
                    self._revert_on_exit(unwinding=exc_type is not None)
            else:
                self._revert_on_exit(unwinding=exc_type is not None)
        finally:
            self._stack.close()

    def _revert_on_exit(self, *, unwinding: bool) -> None:
        try:
            self.revert()
        except FlexchaosError as failed:
            if not unwinding:
                raise
            # Already unwinding (an error, Ctrl-C): report the failed reverts, but let the
            # original exception through, so an interrupted run still stops.
            print(f"flexchaos: {failed}", file=sys.stderr, flush=True)

    def plan(
        self,
        fault: str,
        selection: Selection | None = None,
        hold_s: float = 60.0,
        **options: Any,
    ) -> Plan:
        return build_plan(self.target, fault, selection, options, self.limits, hold_s=hold_s)

    def inject(
        self,
        fault: str | Plan,
        selection: Selection | None = None,
        hold_s: float = 60.0,
        **options: Any,
    ) -> Injection:
        """Plan (or take a plan already built), guard (GuardRefusal with no mutating call),
        journal, then inject. `hold_s` (platform seconds) is the duration of faults that the
        service ends by itself (Chaos Studio's continuous actions)."""
        plan = fault if isinstance(fault, Plan) else self.plan(fault, selection, hold_s, **options)
        if plan.refusal is not None:
            raise plan.refusal
        f = plan.fault
        intents = f.prepare(self.ops, plan.instances, plan.options, plan.hold_s)
        detail = {"seed": plan.selected.seed, "selection": plan.selected.criteria}
        injection = Injection(plan, requested_at=time.time())

        def one(vm: str | None, revert: Mapping[str, Any]) -> None:
            entry = new_entry(
                self.target, f.name, vm, revert=dict(revert), run=self.run, detail=detail
            )
            self.journal.record_injected(entry)
            injection.entries.append(entry)
            if f.revertible:
                self._open.append(entry)
            try:
                self.ops.mark()
                effect = f.inject(self.ops, entry)
                if effect.requested_at is None and (call := self.ops.first_call()) is not None:
                    effect = replace(effect, requested_at=call.sent, accepted_at=call.accepted)
                injection.effects[entry.id] = effect
                self.journal.record_landed(entry.id)  # rollback: "in", not "maybe never sent"
            except Exception as exc:
                injection.errors[vm or f.name] = str(exc).splitlines()[0]
                raise
            finally:
                if not f.revertible:
                    self.journal.record_reverted(entry.id, f"{f.name} has no revert")

        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(intents) or 1)) as pool:
            futures = [pool.submit(one, i.vm, i.revert) for i in intents]
            errors = [fut.exception() for fut in futures]
        for error in errors:
            if error is not None:
                raise error
        self._confirm(injection)
        sent = [e.requested_at for e in injection.effects.values() if e.requested_at is not None]
        if sent:
            injection.requested_at = min(sent)
        accepted = [e.accepted_at for e in injection.effects.values() if e.accepted_at]
        injection.accepted_at = min(accepted) if accepted else None
        return injection

    def _confirm(self, injection: Injection) -> None:
        """Wait until every VM shows its effect (`Effect.awaits`), all VMs together: a VM
        that does not get there in time is an error of the injection (its entry stays open)."""
        by_entry = {e.id: e for e in injection.entries}
        wanted = {
            by_entry[entry_id].vm or "": effect.awaits
            for entry_id, effect in injection.effects.items()
            if effect.awaits and by_entry[entry_id].vm
        }
        if not wanted:
            return
        try:
            self.ops.require_power_states(wanted, f"in the fault's state ({injection.fault.name})")
        except FlexchaosError as exc:
            injection.errors[injection.fault.name] = str(exc)
            raise

    def hold(
        self,
        injection: Injection,
        wall_s: float,
        tick_s: float,
        abort: Callable[[], str | None] = lambda: None,
    ) -> HoldEnd:
        """Keep the fault in for `wall_s` (or until it ends by itself), checking `abort`."""
        deadline = time.monotonic() + wall_s
        return injection.fault.hold(self.ops, injection, deadline, tick_s, abort)

    def prove(self, injection: Injection, seen: Sequence[Seen]) -> Proof:
        return injection.fault.prove(injection, seen)

    def landed_at(self, injection: Injection) -> float | None:
        return injection.fault.landed_at(injection)

    def reverted_at(self, injection: Injection, seen: Sequence[Seen]) -> float | None:
        return injection.fault.reverted_at(injection, seen)

    def revert(self, injection: Injection | None = None) -> list[RevertResult]:
        """Revert this injector's open entries (of one injection, or all of them)."""
        wanted: Sequence[JournalEntry] = (
            [e for e in self._open if e in injection.entries] if injection else list(self._open)
        )
        if not wanted:
            return []
        results = revert_entries(self.journal, wanted, self.timeout_s, self.target)
        for result in results:
            if result.ok:
                self._open.remove(result.entry)
        self.reverted += results
        failed = [r for r in results if not r.ok]
        if failed:
            raise FlexchaosError(
                f"{len(failed)} revert(s) failed ({failed[0].line()}); "
                f"run `flexchaos rollback --journal {self.journal.path}`"
            )
        return results

    @property
    def open_entries(self) -> list[JournalEntry]:
        return list(self._open)
