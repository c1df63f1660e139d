"""Inject faults with the journal and the guard, and always revert: the API a run uses.

    with Injector(target, Journal(path)) as chaos:
        injection = chaos.inject("stop", Selection(count=1))
        ...                                # hold and observe
        chaos.revert(injection)            # or leave it to the end of the block

Every inject builds the plan (reads only), lets the guard refuse before any mutating call,
writes and fsyncs one journal entry per VM, then calls the SDK. Leaving the block — normally,
by an exception, or by SIGINT/SIGTERM — reverts whatever this injector left in.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from fleet.guard import GuardLimits
from fleet.journal import DEFAULT_JOURNAL, Journal, JournalEntry, new_entry
from fleet.operations import VmOps
from fleet.plan import Plan, build_plan
from fleet.rollback import RevertResult, revert_entries
from fleet.selection import Selection
from fleet.signals import Signals, revert_on_signals
from fleet.target import FleetTarget
from flexchaos.errors import FlexchaosError

MAX_PARALLEL = 8


@dataclass
class Injection:
    """One inject call: its plan, the journal entries written and what each call did."""

    plan: Plan
    entries: list[JournalEntry] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def vms(self) -> tuple[str, ...]:
        return self.plan.selected.names

    @property
    def seed(self) -> int:
        return self.plan.selected.seed


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

    def plan(self, fault: str, selection: Selection | None = None, **options: Any) -> Plan:
        return build_plan(self.target, fault, selection, options, self.limits)

    def inject(self, fault: str, selection: Selection | None = None, **options: Any) -> Injection:
        """Plan, guard (raises GuardRefusal with no mutating call), journal, then inject."""
        plan = self.plan(fault, selection, **options)
        if plan.refusal is not None:
            raise plan.refusal
        injection = Injection(plan)
        f = plan.fault
        ops = VmOps(self.target, self.timeout_s)
        prepared = {
            step.vm: f.prepare(ops, step.instance, plan.options)
            for step in plan.steps
            if step.instance is not None
        }
        detail = {"seed": plan.selected.seed, "selection": plan.selected.criteria}

        def one(vm: str) -> None:
            entry = new_entry(
                self.target, f.name, vm, revert=prepared[vm], run=self.run, detail=detail
            )
            self.journal.record_injected(entry)
            injection.entries.append(entry)
            if f.revertible:
                self._open.append(entry)
            try:
                injection.outcomes[vm] = f.inject(ops, vm, prepared[vm])
            except Exception as exc:
                injection.errors[vm] = str(exc).splitlines()[0]
                raise
            finally:
                if not f.revertible:
                    self.journal.record_reverted(entry.id, f"{f.name} has no revert")

        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(prepared) or 1)) as pool:
            futures = [pool.submit(one, vm) for vm in prepared]
            errors = [fut.exception() for fut in futures]
        for error in errors:
            if error is not None:
                raise error
        return injection

    def revert(self, injection: Injection | None = None) -> list[RevertResult]:
        """Revert this injector's open entries (of one injection, or all of them)."""
        wanted: Sequence[JournalEntry] = (
            [e for e in self._open if e in injection.entries] if injection else list(self._open)
        )
        if not wanted:
            return []
        results = revert_entries(self.journal, wanted, self.timeout_s)
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
