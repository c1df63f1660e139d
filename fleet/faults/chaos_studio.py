"""Faults run by Azure Chaos Studio, through azure-mgmt-chaos: `ChaosStudioFault(urn, ...)`.

Chaos Studio's scale-set faults apply to Uniform sets only; for a Flexible set the documented
path is per-VM targets (docs/azure-behaviour.md §0, §5). One experiment per run: a List
selector with the VMs, one step, one branch, one action — continuous (with the hold as its
duration, e.g. the VM shutdown) or discrete (e.g. the VM redeploy). The injector journals the
experiment as one entry before any mutating call; `inject` then enables the
`Microsoft-VirtualMachine` target and the fault's capability on each VM, creates (or updates)
the experiment and starts it. `begin_start` returns nothing, so the execution is found with
`list_all_executions` (the one id that was not there before). `hold` watches the execution until
the service ends it (an abort condition ends the hold early); `revert` cancels whatever still
runs and starts any VM left down — the same call `flexchaos rollback` makes for an entry a
killed run left open. The fault ended, for the measurements, when the service started the VMs
again (seen in the capacity samples), else when the execution ended.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, ClassVar

import fleet.faults.chaos_executions as executions
from fleet.azure_errors import translated
from fleet.faults.base import (
    Effect,
    Fault,
    HoldEnd,
    Injection,
    Intent,
    NothingToRevert,
    PlanCalls,
    Proof,
    Seen,
)
from fleet.faults.base import seen_out_of_running as _seen_out_of_running
from fleet.faults.chaos_executions import is_terminal
from fleet.faults.power import start_all_unless_running
from fleet.inventory import Instance
from fleet.journal import JournalEntry
from fleet.operations import VmOps
from fleet.target import FleetTarget
from flexchaos.errors import FlexchaosError, NotFound, OperationTimeout

TARGET_TYPE = "Microsoft-VirtualMachine"
VMSS_FAULT_PREFIX = "urn:csci:microsoft:virtualMachineScaleSet:"
MAX_DURATION_S = 12 * 3600  # Chaos Studio: an action lasts at most 12 h
MAX_TARGETS = 50  # Chaos Studio: at most 50 targets per action
END_GRACE_S = 60.0  # wall seconds the service may take past the hold to end the execution
MAX_PARALLEL = 8

Parameters = Callable[[Mapping[str, Any]], dict[str, str]]


def target_reference_id(vm_id: str) -> str:
    return f"{vm_id}/providers/Microsoft.Chaos/targets/{TARGET_TYPE}"


class ChaosStudioFault(Fault):
    """A per-VM Chaos Studio fault: its urn, capability, action kind and parameters."""

    actions: ClassVar[Mapping[str, str]] = {
        "Microsoft.Chaos/targets/read": "preflight: which VMs are Chaos Studio targets already",
        "Microsoft.Chaos/targets/capabilities/read": "preflight: which capabilities they have",
        "Microsoft.Chaos/targets/write": "enable the VMs as Chaos Studio targets",
        "Microsoft.Chaos/targets/capabilities/write": "enable the fault's capability on them",
        "Microsoft.Chaos/experiments/write": "create the Chaos Studio experiment",
        "Microsoft.Chaos/experiments/read": "read the experiment back",
        "Microsoft.Chaos/experiments/start/action": "start the experiment (the fault)",
        "Microsoft.Chaos/experiments/cancel/action": "cancel it on abort (the revert)",
        "Microsoft.Chaos/experiments/executions/read": "follow the execution until it ends",
        "Microsoft.Chaos/experiments/executions/getExecutionDetails/action": (
            "read when the service started the action (the fault's clock) and why it failed"
        ),
        "Microsoft.Compute/virtualMachines/start/action": "start any VM left off (the revert)",
    }

    def __init__(
        self,
        name: str,
        urn: str,
        capability: str,
        *,
        summary: str,
        continuous: bool,
        options: Mapping[str, Any] | None = None,
        parameters: Parameters | None = None,
    ) -> None:
        if urn.lower().startswith(VMSS_FAULT_PREFIX.lower()):
            raise FlexchaosError(
                f"Chaos Studio fault {urn} works only on Uniform scale sets and flexchaos acts on "
                f"Flexible ones; use a per-VM fault (target {TARGET_TYPE})"
            )
        self.name = name  # type: ignore[misc]  # instances name themselves
        self.summary = summary  # type: ignore[misc]
        self.urn = urn
        self.capability = capability
        self.continuous = continuous
        self.options = {"experiment": None, **(options or {})}  # type: ignore[misc]
        self.parameters = parameters or (lambda options: {})

    # -- before anything runs --------------------------------------------------------------
    def experiment_name(
        self, options: Mapping[str, Any], scale_set: str, run: str | None = None
    ) -> str:
        """Unique per run (two runs must never share an experiment); the journal keeps it, so
        rollback finds it. Without a run (the dry run's plan) the suffix is a placeholder."""
        if options.get("experiment"):
            return str(options["experiment"])
        suffix = hashlib.sha1(run.encode()).hexdigest()[:8] if run else "<run>"
        return f"flexchaos-{scale_set}-{self.name}-{suffix}"

    def plan_calls(
        self, target: FleetTarget, vms: Sequence[str], options: Mapping[str, Any], hold_s: float
    ) -> PlanCalls:
        rg = target.resource_group
        exp = self.experiment_name(options, target.scale_set)
        action = (
            f"continuous {self.urn}, duration PT{hold_s:g}S" if self.continuous
            else f"discrete {self.urn}"
        )  # fmt: skip
        params = ", ".join(f"{k}={v}" for k, v in self.parameters(options).items())
        shared = [
            f"targets.create_or_update({rg}, Microsoft.Compute, virtualMachines, <vm>, "
            f"{TARGET_TYPE}) and capabilities.create_or_update(..., {self.capability}) per VM",
            f"experiments.begin_create_or_update({rg}, {exp}, <List selector of {len(vms)} "
            f"VM(s); {action}" + (f"; {params}" if params else "") + ">)",
            f"experiments.begin_start({rg}, {exp}); experiments.list_all_executions({rg}, {exp})",
            "experiments.get_execution(...) until Success/Failed/Cancelled (the service ends it)",
            f"revert: experiments.begin_cancel({rg}, {exp}) if still running; "
            "virtual_machines.begin_start for any VM not running",
        ]
        revert = ["Chaos Studio ends it; the revert cancels what still runs and starts the VM"]
        return PlanCalls(
            {vm: ([f"through Chaos Studio: {self.urn}"], revert) for vm in vms}, shared
        )

    def validate(self, options: Mapping[str, Any], hold_s: float) -> dict[str, Any]:
        self.check_duration(hold_s)
        return super().validate(options, hold_s)

    def check_duration(self, hold_s: float) -> None:
        if self.continuous and not 0 < hold_s <= MAX_DURATION_S:
            raise FlexchaosError(
                f"{self.name}: duration {hold_s:g} s must be above 0 and at most "
                f"{MAX_DURATION_S} s (12 h), Chaos Studio's limit for an action"
            )

    # -- injecting -------------------------------------------------------------------------
    def prepare(
        self, ops: VmOps, instances: Sequence[Instance], options: Mapping[str, Any], hold_s: float
    ) -> list[Intent]:
        """One journal entry for the whole experiment (Chaos Studio acts on every VM at once)."""
        if not instances:
            raise FlexchaosError(f"{self.name} needs at least one VM; select some")
        if len(instances) > MAX_TARGETS:
            raise FlexchaosError(
                f"{self.name} selects {len(instances)} VMs; a Chaos Studio action takes at most "
                f"{MAX_TARGETS} targets"
            )
        self.check_duration(hold_s)
        with translated(f"read scale set {ops.target.scale_set}"):
            scale_set = ops.target.clients.compute.virtual_machine_scale_sets.get(
                ops.rg, ops.target.scale_set
            )
        return [
            Intent(
                None,
                {
                    "resource_group": ops.rg,
                    "experiment": self.experiment_name(options, ops.target.scale_set, ops.run_id),
                    "vms": [i.name for i in instances],
                    "vm_ids": [i.id for i in instances],
                    "location": str(scale_set.location or ""),
                    "duration_s": hold_s,
                    "options": dict(options),
                },
            )
        ]

    def inject(self, ops: VmOps, entry: JournalEntry) -> Effect:
        """Targets and capabilities, the experiment, then start it and find its execution."""
        revert = entry.revert
        chaos, rg, name = ops.target.clients.chaos, revert["resource_group"], revert["experiment"]
        self.enable(ops, revert["vms"])
        body = self.experiment_body(revert["vm_ids"], revert)
        with translated(f"create Chaos Studio experiment {name}"):
            poller = chaos.experiments.begin_create_or_update(rg, name, body)
        ops.finish(poller, f"create Chaos Studio experiment {name}")
        before = executions.execution_ids(ops, rg, name)
        requested_at = time.time()
        with translated(f"start Chaos Studio experiment {name}"):
            poller = chaos.experiments.begin_start(rg, name)
        ops.finish(poller, f"start Chaos Studio experiment {name}")
        execution = executions.new_execution(ops, rg, name, before)
        return Effect(
            f"experiment {name} started (execution {execution})",
            {"execution_id": execution, "statuses": []},
            requested_at=requested_at,
        )

    def enable(self, ops: VmOps, vms: Sequence[str]) -> None:
        """PUT the Microsoft-VirtualMachine target and the fault's capability on each VM
        (idempotent: 200 when already there)."""
        from azure.mgmt.chaos import models

        chaos = ops.target.clients.chaos

        def one(vm: str) -> None:
            args = (ops.rg, "Microsoft.Compute", "virtualMachines", vm, TARGET_TYPE)
            with translated(f"enable Chaos Studio on {vm}"):
                chaos.targets.create_or_update(*args, models.Target(properties={}))
                chaos.capabilities.create_or_update(*args, self.capability, models.Capability())

        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(vms) or 1)) as pool:
            list(pool.map(one, vms))

    def experiment_body(self, vm_ids: Sequence[str], revert: Mapping[str, Any]) -> Any:
        """One List selector, one step, one branch, one action."""
        from azure.mgmt.chaos import models

        selector = models.ChaosTargetListSelector(
            id="flexchaos-vms",
            targets=[
                models.TargetReference(type="ChaosTarget", id=target_reference_id(vm_id))
                for vm_id in vm_ids
            ],
        )
        parameters = [
            models.KeyValuePair(key=k, value=v)
            for k, v in self.parameters(revert["options"]).items()
        ]
        action: Any
        if self.continuous:
            action = models.ContinuousAction(
                name=self.urn,
                duration=timedelta(seconds=float(revert["duration_s"])),
                parameters=parameters,
                selector_id=selector.id,
            )
        else:
            action = models.DiscreteAction(
                name=self.urn, parameters=parameters, selector_id=selector.id
            )
        branch = models.ChaosExperimentBranch(name=self.name, actions=[action])
        return models.Experiment(
            location=revert["location"],
            identity=models.ManagedServiceIdentity(type="SystemAssigned"),
            selectors=[selector],
            steps=[models.ChaosExperimentStep(name=self.name, branches=[branch])],
            tags={"created-by": "flexchaos"},
        )

    def hold(
        self,
        ops: VmOps,
        injection: Injection,
        deadline: float,
        tick_s: float,
        abort: Callable[[], str | None],
    ) -> HoldEnd:
        """Watch the execution until the service ends it; an abort condition ends the hold
        (the revert then cancels it)."""
        entry = injection.entries[0]
        effect = injection.effects[entry.id]
        rg, name = entry.revert["resource_group"], entry.revert["experiment"]
        limit = deadline + END_GRACE_S
        try:
            while True:
                status = executions.status(ops, rg, name, effect)
                if is_terminal(status):
                    effect.detail["ended_at"] = time.time()
                    return HoldEnd(detail=f"Chaos Studio execution ended {status}")
                reason = abort()
                if reason:
                    return HoldEnd(aborted=reason, detail=f"execution {status}; cancelled")
                if time.monotonic() >= limit:
                    return HoldEnd(
                        aborted=f"the Chaos Studio execution was still {status} "
                        f"{END_GRACE_S:.0f} s after the hold; cancelled",
                    )
                time.sleep(tick_s)
        finally:
            effect.detail["action_started_at"] = executions.action_started(ops, rg, name, effect)

    def landed_at(self, injection: Injection) -> float | None:
        """When the service started the fault's action: Chaos Studio queues an execution
        (about 10 s on the emulator, undocumented on Azure) before it touches a VM, so the
        failover clock starts there, not at `begin_start` (the execution details' startTime)."""
        effects = [injection.effects[e.id] for e in injection.entries if e.id in injection.effects]
        started = [e.detail.get("action_started_at") for e in effects]
        return min((t for t in started if t is not None), default=None)

    def revert(self, ops: VmOps, entry: JournalEntry) -> str:
        """Cancel what still runs, then start every VM it left down. Idempotent."""
        chaos = ops.target.clients.chaos
        rg, name = entry.revert["resource_group"], entry.revert["experiment"]
        try:
            with translated(f"list executions of {name}"):
                executions = list(chaos.experiments.list_all_executions(rg, name))
        except NotFound:
            executions = []
        running = [e for e in executions if not is_terminal(e.status)]
        if running:
            with translated(f"cancel Chaos Studio experiment {name}"):
                poller = chaos.experiments.begin_cancel(rg, name)
            ops.finish(poller, f"cancel Chaos Studio experiment {name}")
            deadline = time.monotonic() + ops.timeout_s
            for execution in running:
                status = execution.status
                while not is_terminal(status):
                    if time.monotonic() >= deadline:
                        raise OperationTimeout(
                            f"experiment {name} is still {status} {ops.timeout_s:.0f} s after "
                            "cancel; check it in the portal and run `flexchaos rollback` again"
                        )
                    time.sleep(ops.target.poll_interval_s)
                    with translated(f"read execution {execution.name} of {name}"):
                        status = chaos.experiments.get_execution(rg, name, execution.name).status
            ended = (
                f"cancelled experiment {name} (execution {running[0].name} was {running[0].status})"
            )
        else:
            last = executions[-1].status if executions else "never started"
            ended = f"experiment {name} not running ({last})"
        restored = restore_vms(ops, list(entry.revert.get("vms") or []))
        if not running and isinstance(restored, NothingToRevert):
            return NothingToRevert(f"{ended}; {restored}")
        return f"{ended}; {restored}"

    # -- what the observations show ----------------------------------------------------------
    def prove(self, injection: Injection, seen: Sequence[Seen]) -> Proof:
        """The execution ended Success and every target VM was seen out of running."""
        entry = injection.entries[0] if injection.entries else None
        effect = injection.effects.get(entry.id) if entry else None
        statuses = [s for _, s in (effect.detail.get("statuses", []) if effect else [])]
        final = statuses[-1] if statuses else "unknown"
        down = _seen_out_of_running(injection.vms, seen, injection.requested_at)
        if final.lower() != "success":
            return Proof(False, f"the Chaos Studio execution ended {final}; {down.evidence}")
        if not down.proved:
            return Proof(False, f"the execution ended Success but {down.evidence}")
        return Proof(True, f"execution Success; {down.evidence}")

    def reverted_at(self, injection: Injection, seen: Sequence[Seen]) -> float | None:
        """When the service started the VMs again, as the samples show (the execution reads
        Running until they are back, so its status cannot tell); else when it ended."""
        vms, since = set(injection.vms), injection.requested_at
        ordered = sorted((s for s in seen if s.vm in vms and s.time >= since), key=lambda s: s.time)
        first_down = next((s.time for s in ordered if s.power_state != "running"), None)
        if first_down is not None:
            back = next(
                (s.time for s in ordered
                 if s.time > first_down and s.power_state in ("starting", "running")),
                None,
            )  # fmt: skip
            if back is not None:
                return back
        entry = injection.entries[0] if injection.entries else None
        effect = injection.effects.get(entry.id) if entry else None
        return effect.detail.get("ended_at") if effect else None


def restore_vms(ops: VmOps, vms: Sequence[str]) -> str:
    """Start every VM that is not running (idempotent); one phrase saying what was done."""
    if not vms:
        return "no VMs"
    results = start_all_unless_running(ops, vms, MAX_PARALLEL)
    started = [vm for vm, r in zip(vms, results, strict=True) if not isinstance(r, NothingToRevert)]
    if not started:
        return NothingToRevert(f"{len(vms)} VM(s) already running")
    return f"started {', '.join(started)}"


VM_SHUTDOWN_URN = "urn:csci:microsoft:virtualMachine:shutdown/1.0"
VM_REDEPLOY_URN = "urn:csci:microsoft:virtualMachine:redeploy/1.0"

SHUTDOWN = ChaosStudioFault(
    "chaos-shutdown",
    VM_SHUTDOWN_URN,
    "Shutdown-1.0",
    summary="VM shutdown run by Chaos Studio for the hold time; the service starts it again",
    continuous=True,
    options={"abrupt": False},
    parameters=lambda options: {"abruptShutdown": str(bool(options.get("abrupt"))).lower()},
)
REDEPLOY = ChaosStudioFault(
    "chaos-redeploy",
    VM_REDEPLOY_URN,
    "Redeploy-1.0",
    summary="VM redeploy to a new host run by Chaos Studio (discrete; the VM comes back itself)",
    continuous=False,
)
FAULTS = (SHUTDOWN, REDEPLOY)
