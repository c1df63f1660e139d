"""VM shutdowns run as Azure Chaos Studio experiments, through azure-mgmt-chaos.

For a Flexible scale set Chaos Studio's scale-set shutdown fault does not apply (Uniform only);
the documented path is per-VM targets (azure-semantics.md §0.1, §5):

    shutdown = ChaosStudioShutdown(target, Journal(path))
    outcome = shutdown.run(instances, duration_s=300, abrupt=True)   # start + wait (+ cancel)

`start` checks the fault and the guard before any mutating call, enables the
`Microsoft-VirtualMachine` target and its `Shutdown-1.0` capability on each VM, creates (or
updates) one experiment — a List selector with the VMs, one step, one branch, one continuous
`urn:csci:microsoft:virtualMachine:shutdown/1.0` action with the duration and abruptShutdown —
journals it (fsync) and only then starts it. `begin_start` returns nothing, so the execution is
found with `list_all_executions` (the one id that was not there before). `wait` polls its status
with a deadline; `cancel` cancels it. Either ends by making sure every VM runs again and closing
the journal entry, and `flexchaos rollback` does the same for an entry a killed run left open.
Durations are platform seconds: the emulator compresses them by its time scale.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from azure.core.exceptions import ResourceNotFoundError

from fleet.faults import start_unless_running
from fleet.guard import GuardLimits, check
from fleet.inventory import Instance, Inventory
from fleet.journal import DEFAULT_JOURNAL, Journal, JournalEntry, new_entry
from fleet.operations import OperationTimeout, VmOps, default_timeout
from fleet.reverts import register_revert
from fleet.signals import revert_on_signals
from fleet.target import FleetTarget
from flexchaos.errors import FlexchaosError

FAULT = "chaos_shutdown"
TARGET_TYPE = "Microsoft-VirtualMachine"
CAPABILITY = "Shutdown-1.0"
VM_SHUTDOWN_URN = "urn:csci:microsoft:virtualMachine:shutdown/1.0"
VMSS_SHUTDOWN_PREFIX = "urn:csci:microsoft:virtualMachineScaleSet:shutdown/"
MAX_DURATION_S = 12 * 3600  # Chaos Studio: an action lasts at most 12 h
MAX_TARGETS = 50  # Chaos Studio: at most 50 targets per action
TERMINAL = ("success", "failed", "cancelled", "canceled")
MAX_PARALLEL = 8


def is_terminal(status: str | None) -> bool:
    """Execution statuses compare case-insensitively (Azure's examples use lower case)."""
    return str(status or "").lower() in TERMINAL


def check_fault(urn: str) -> None:
    """Refuse, before any call, a fault this module cannot run on a Flexible scale set."""
    if urn.lower().startswith(VMSS_SHUTDOWN_PREFIX.lower()):
        raise FlexchaosError(
            f"Chaos Studio fault {urn} works only on Uniform scale sets and flexchaos acts on "
            f"Flexible ones; use the per-VM fault {VM_SHUTDOWN_URN} (target {TARGET_TYPE}, "
            f"capability {CAPABILITY}) instead"
        )
    if urn.lower() != VM_SHUTDOWN_URN.lower():
        raise FlexchaosError(f"unsupported Chaos Studio fault {urn}; use {VM_SHUTDOWN_URN}")


def target_reference_id(vm_id: str) -> str:
    return f"{vm_id}/providers/Microsoft.Chaos/targets/{TARGET_TYPE}"


@dataclass
class ChaosRun:
    """One started experiment: its journal entry and the execution Chaos Studio made."""

    entry: JournalEntry
    resource_group: str
    experiment: str
    execution_id: str
    vms: tuple[str, ...]
    duration_s: float
    abrupt: bool
    requested_at: float  # epoch seconds just before begin_start
    statuses: list[tuple[float, str]] = field(default_factory=list)  # (epoch, status) seen


@dataclass(frozen=True)
class ChaosOutcome:
    """How an execution ended, with Chaos Studio's execution details (wire format)."""

    status: str
    started_at: float | None
    stopped_at: float | None
    failure_reason: str | None
    details: dict[str, Any] = field(hash=False)
    statuses: tuple[tuple[float, str], ...] = ()
    restored: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status.lower() == "success"

    def target_statuses(self) -> dict[str, str]:
        """VM name → the status of its target in the (first) action."""
        found: dict[str, str] = {}
        for step in (
            (self.details.get("properties") or {}).get("runInformation", {}).get("steps", [])
        ):
            for branch in step.get("branches") or []:
                for action in branch.get("actions") or []:
                    for t in action.get("targets") or []:
                        vm = str(t.get("target", "")).split("/providers/Microsoft.Chaos/")[0]
                        found.setdefault(vm.rsplit("/", 1)[-1], str(t.get("status")))
        return found


class ChaosStudioShutdown:
    """Shut VMs down through a Chaos Studio experiment, journaled and always ended."""

    def __init__(
        self,
        target: FleetTarget,
        journal: Journal | None = None,
        limits: GuardLimits | None = None,
        *,
        experiment_name: str | None = None,
        location: str | None = None,
        timeout_s: float | None = None,
        run: str | None = None,
        handle_signals: bool = True,
    ) -> None:
        self.target = target
        self.journal = journal or Journal(DEFAULT_JOURNAL)
        self.limits = limits or GuardLimits()
        self.experiment_name = experiment_name or f"flexchaos-{target.scale_set}-shutdown"
        self.location = location
        self.timeout_s = timeout_s if timeout_s is not None else default_timeout(target)
        self.run_id = run
        self.handle_signals = handle_signals
        self.current: ChaosRun | None = None

    @property
    def chaos(self) -> Any:
        return self.target.clients.chaos

    @property
    def rg(self) -> str:
        return self.target.resource_group

    def calls(self, names: Sequence[str], duration_s: float, abrupt: bool = False) -> list[str]:
        """The SDK calls `run` makes, in order, for a plan or a dry run (no call is made)."""
        rg, exp = self.rg, self.experiment_name
        per_vm = [
            f"targets.create_or_update({rg}, Microsoft.Compute, virtualMachines, {vm}, "
            f"{TARGET_TYPE}); capabilities.create_or_update(..., {CAPABILITY})"
            for vm in names
        ]
        return [
            *per_vm,
            f"experiments.begin_create_or_update({rg}, {exp}, <List selector of {len(names)} "
            f"VM(s); continuous {VM_SHUTDOWN_URN}, duration PT{duration_s:g}S, "
            f"abruptShutdown={str(abrupt).lower()}>)",
            "journal: chaos_shutdown entry (fsync)",
            f"experiments.begin_start({rg}, {exp}); experiments.list_all_executions({rg}, {exp})",
            f"experiments.get_execution(...) until Success/Failed/Cancelled "
            f"(begin_cancel({rg}, {exp}) on abort)",
            "virtual_machines.begin_start for any VM not running; journal: reverted",
        ]

    # ----- the whole fault ------------------------------------------------------------------
    def run(
        self,
        instances: Sequence[Instance | str],
        duration_s: float,
        abrupt: bool = False,
        *,
        fault: str = VM_SHUTDOWN_URN,
        on_status: Callable[[str], None] | None = None,
    ) -> ChaosOutcome:
        """Start, wait for the end; any exception or SIGINT/SIGTERM cancels it first."""
        with ExitStack() as stack:
            if self.handle_signals:
                stack.enter_context(revert_on_signals())
            run = self.start(instances, duration_s, abrupt, fault=fault)
            try:
                return self.wait(run, on_status=on_status)
            except BaseException:
                self.cancel(run)
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    # ----- start ----------------------------------------------------------------------------
    def start(
        self,
        instances: Sequence[Instance | str],
        duration_s: float,
        abrupt: bool = False,
        *,
        fault: str = VM_SHUTDOWN_URN,
    ) -> ChaosRun:
        """Checks (no call), guard (reads only), targets, experiment, journal, then start."""
        check_fault(fault)
        names = [i if isinstance(i, str) else i.name for i in instances]
        if not names:
            raise FlexchaosError("chaos_shutdown needs at least one VM; select some")
        if len(set(names)) > MAX_TARGETS:
            raise FlexchaosError(
                f"chaos_shutdown selects {len(set(names))} VMs; a Chaos Studio action takes at "
                f"most {MAX_TARGETS} targets"
            )
        if not 0 < duration_s <= MAX_DURATION_S:
            raise FlexchaosError(
                f"duration {duration_s:g} s must be above 0 and at most {MAX_DURATION_S} s (12 h)"
            )
        inventory = Inventory(self.target)
        scale_set = inventory.scale_set()
        members = inventory.instances()
        check(self.target, scale_set, members, FAULT, names, self.limits)
        by_name = {i.name: i for i in members}
        chosen = [by_name[n] for n in dict.fromkeys(names)]
        location = self.location or str(scale_set.raw.get("location") or "")
        self.enable(chosen)
        self.create_experiment(chosen, duration_s, abrupt, location)
        before = self._execution_ids()
        entry = new_entry(
            self.target,
            FAULT,
            None,
            revert={
                "resource_group": self.rg,
                "experiment": self.experiment_name,
                "vms": [i.name for i in chosen],
            },
            run=self.run_id,
            detail={"duration_s": duration_s, "abrupt": abrupt, "location": location},
        )
        self.journal.record_injected(entry)
        requested = time.time()
        try:
            poller = self.chaos.experiments.begin_start(self.rg, self.experiment_name)
            self._finish(poller, f"start experiment {self.experiment_name}")
            execution_id = self._new_execution(before)
        except BaseException:
            with contextlib.suppress(Exception):  # else the entry stays open for rollback
                self.journal.record_reverted(entry.id, revert_chaos(entry, self.timeout_s))
            raise
        self.current = ChaosRun(
            entry,
            self.rg,
            self.experiment_name,
            execution_id,
            tuple(i.name for i in chosen),
            duration_s,
            abrupt,
            requested,
        )
        return self.current

    def enable(self, instances: Iterable[Instance]) -> list[str]:
        """PUT the Microsoft-VirtualMachine target and its Shutdown-1.0 capability on each VM
        (idempotent: 200 when already there). Returns the target ids."""
        from azure.mgmt.chaos import models

        def one(instance: Instance) -> str:
            args = (self.rg, "Microsoft.Compute", "virtualMachines", instance.name, TARGET_TYPE)
            made = self.chaos.targets.create_or_update(*args, models.Target(properties={}))
            self.chaos.capabilities.create_or_update(*args, CAPABILITY, models.Capability())
            return str(made.id)

        chosen = list(instances)
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(chosen) or 1)) as pool:
            return list(pool.map(one, chosen))

    def experiment_body(
        self, instances: Sequence[Instance], duration_s: float, abrupt: bool, location: str
    ) -> Any:
        """One List selector, one step, one branch, one continuous VM shutdown action."""
        from azure.mgmt.chaos import models

        selector = models.ChaosTargetListSelector(
            id="flexchaos-vms",
            targets=[
                models.TargetReference(type="ChaosTarget", id=target_reference_id(i.id))
                for i in instances
            ],
        )
        action = models.ContinuousAction(
            name=VM_SHUTDOWN_URN,
            duration=timedelta(seconds=duration_s),
            parameters=[models.KeyValuePair(key="abruptShutdown", value=str(abrupt).lower())],
            selector_id=selector.id,
        )
        branch = models.ChaosExperimentBranch(name="shutdown", actions=[action])
        return models.Experiment(
            location=location,
            identity=models.ManagedServiceIdentity(type="SystemAssigned"),
            selectors=[selector],
            steps=[models.ChaosExperimentStep(name="shutdown", branches=[branch])],
            tags={"created-by": "flexchaos"},
        )

    def create_experiment(
        self, instances: Sequence[Instance], duration_s: float, abrupt: bool, location: str
    ) -> Any:
        body = self.experiment_body(instances, duration_s, abrupt, location)
        poller = self.chaos.experiments.begin_create_or_update(self.rg, self.experiment_name, body)
        return self._finish(poller, f"create experiment {self.experiment_name}")

    # ----- observe --------------------------------------------------------------------------
    def status(self, run: ChaosRun) -> str:
        execution = self.chaos.experiments.get_execution(
            run.resource_group, run.experiment, run.execution_id
        )
        status = str(execution.status)
        if not run.statuses or run.statuses[-1][1] != status:
            run.statuses.append((time.time(), status))
        return status

    def details(self, run: ChaosRun) -> dict[str, Any]:
        """getExecutionDetails in wire format (camelCase keys, runInformation included)."""
        found = self.chaos.experiments.execution_details(
            run.resource_group, run.experiment, run.execution_id
        )
        return dict(found.serialize(keep_readonly=True))

    def wait(
        self,
        run: ChaosRun | None = None,
        timeout_s: float | None = None,
        on_status: Callable[[str], None] | None = None,
    ) -> ChaosOutcome:
        """Poll until the execution ends (deadline: the duration plus the operation timeout),
        make sure every VM runs, close the journal entry."""
        run = self._run(run)
        limit = timeout_s if timeout_s is not None else run.duration_s + self.timeout_s
        self._wait_terminal(run, limit, on_status)
        return self._close(run)

    def cancel(self, run: ChaosRun | None = None) -> ChaosOutcome:
        """Cancel the execution (Chaos Studio starts the VMs again), then close as wait does."""
        run = self._run(run)
        if not is_terminal(self.status(run)):
            poller = self.chaos.experiments.begin_cancel(run.resource_group, run.experiment)
            self._finish(poller, f"cancel experiment {run.experiment}")
            self._wait_terminal(run, self.timeout_s, None)
        return self._close(run)

    # ----- internals ------------------------------------------------------------------------
    def _run(self, run: ChaosRun | None) -> ChaosRun:
        if run is None:
            run = self.current
        if run is None:
            raise FlexchaosError("no Chaos Studio experiment was started; call start() first")
        return run

    def _finish(self, poller: Any, what: str) -> Any:
        result = poller.result(timeout=self.timeout_s)
        if not poller.done():
            raise OperationTimeout(f"{what} did not complete within {self.timeout_s:.0f} s")
        return result

    def _execution_ids(self) -> set[str]:
        try:
            found = self.chaos.experiments.list_all_executions(self.rg, self.experiment_name)
            return {str(e.name) for e in found}
        except ResourceNotFoundError:
            return set()

    def _new_execution(self, before: set[str]) -> str:
        """The execution the start made: begin_start returns nothing, so list and compare."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            executions = list(
                self.chaos.experiments.list_all_executions(self.rg, self.experiment_name)
            )
            fresh = [e for e in executions if str(e.name) not in before]
            if fresh:
                newest = max(fresh, key=lambda e: e.started_at.timestamp() if e.started_at else 0)
                return str(newest.name)
            if time.monotonic() >= deadline:
                raise OperationTimeout(
                    f"experiment {self.experiment_name} was started but no new execution "
                    f"appeared within {self.timeout_s:.0f} s; run `flexchaos rollback`"
                )
            time.sleep(self.target.poll_interval_s)

    def _wait_terminal(
        self, run: ChaosRun, limit_s: float, on_status: Callable[[str], None] | None
    ) -> str:
        deadline = time.monotonic() + limit_s
        last = ""
        while True:
            status = self.status(run)
            if status != last and on_status is not None:
                on_status(status)
            last = status
            if is_terminal(status):
                return status
            if time.monotonic() >= deadline:
                raise OperationTimeout(
                    f"experiment {run.experiment} is still {status} after {limit_s:.0f} s; "
                    f"cancel it or run `flexchaos rollback --journal {self.journal.path}`"
                )
            time.sleep(self.target.poll_interval_s)

    def _close(self, run: ChaosRun) -> ChaosOutcome:
        details = self.details(run)
        props = details.get("properties") or {}
        ops = VmOps(self.target, self.timeout_s)
        restored = _restore_vms(ops, run.vms)
        self.journal.record_reverted(
            run.entry.id, f"experiment {run.experiment} ended {props.get('status')}; {restored}"
        )
        if self.current is run:
            self.current = None
        return ChaosOutcome(
            status=str(props.get("status")),
            started_at=_epoch(props.get("startedAt")),
            stopped_at=_epoch(props.get("stoppedAt")),
            failure_reason=props.get("failureReason"),
            details=details,
            statuses=tuple(run.statuses),
            restored=restored,
        )


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    from datetime import datetime

    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _restore_vms(ops: VmOps, vms: Sequence[str]) -> str:
    """Start every VM that is not running (idempotent); one phrase saying what was done."""
    if not vms:
        return "no VMs"
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(vms))) as pool:
        results = list(pool.map(lambda vm: start_unless_running(ops, vm), vms))
    started = [vm for vm, r in zip(vms, results, strict=True) if " started " in f" {r} "]
    if not started:
        return f"{len(vms)} VM(s) already running"
    return f"started {', '.join(started)}"


def revert_chaos(entry: JournalEntry, timeout_s: float | None) -> str:
    """Rollback of a journaled experiment: cancel what still runs, start every VM it stopped.

    Idempotent: a finished execution is left alone and running VMs are not touched."""
    target = entry.fleet()
    chaos = target.clients.chaos
    rg, name = entry.revert["resource_group"], entry.revert["experiment"]
    limit = timeout_s if timeout_s is not None else default_timeout(target)
    try:
        executions = list(chaos.experiments.list_all_executions(rg, name))
    except ResourceNotFoundError:
        executions = []
    running = [e for e in executions if not is_terminal(e.status)]
    if running:
        poller = chaos.experiments.begin_cancel(rg, name)
        poller.result(timeout=limit)
        deadline = time.monotonic() + limit
        for execution in running:
            status = execution.status
            while not is_terminal(status):
                if time.monotonic() >= deadline:
                    raise OperationTimeout(
                        f"experiment {name} is still {status} {limit:.0f} s after cancel"
                    )
                time.sleep(target.poll_interval_s)
                status = chaos.experiments.get_execution(rg, name, execution.name).status
        ended = f"cancelled experiment {name} (execution {running[0].name} was {running[0].status})"
    else:
        ended = f"experiment {name} not running"
    restored = _restore_vms(VmOps(target, timeout_s), list(entry.revert.get("vms") or []))
    return f"{ended}; {restored}"


register_revert(FAULT, revert_chaos)
