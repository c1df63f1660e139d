"""Pre-processing: what the service checks before an execution touches anything. Each List
selector's targets must exist, the action's capability must be enabled on each, the target VM
must exist, at most 50 targets per action; the scale-set shutdown fault is refused on a
Flexible set (it is Uniform-only, docs/azure-behaviour.md §0.1). A problem fails the execution
with a ChaosFailure (its `failureReason`), and the target concerned with it.
"""

from __future__ import annotations

from typing import Any

from emulator.models.chaos.executions import SKIPPED, ActionRun, BranchRun, StepRun, TargetRun
from emulator.models.chaos.experiments import MAX_TARGETS_PER_ACTION
from emulator.models.chaos.faults import FAULTS, Resolved, RunContext
from emulator.models.chaos.targets import (
    DELAY_URN,
    VM_SHUTDOWN_URN,
    VM_TARGET,
    VMSS_SHUTDOWN_PREFIX,
    ChaosTarget,
    capability_name,
)
from emulator.models.errors import (
    AzureError,
    CapabilityNotEnabled,
    InvalidSelector,
    ResourceNotFound,
    TargetNotFound,
    TooManyTargets,
    UnsupportedFault,
    UnsupportedOrchestrationMode,
    UnsupportedSelector,
)
from emulator.models.vm import VirtualMachine

Plan = list[tuple[StepRun, list[tuple[BranchRun, list[Resolved]]]]]


def validate(ctx: RunContext) -> Plan:
    """Resolve every action's targets to VMs; raises the first problem as a ChaosFailure."""
    exp, execution = ctx.experiment, ctx.execution
    selectors = {str(s.get("id", "")).lower(): s for s in exp.selectors}
    plan = []
    for step, step_run in zip(exp.steps, execution.steps, strict=True):
        branches = []
        for branch, branch_run in zip(step.get("branches") or [], step_run.branches, strict=True):
            actions = [
                _resolve(ctx, body, run, selectors)
                for body, run in zip(branch.get("actions") or [], branch_run.actions, strict=True)
            ]
            branches.append((branch_run, actions))
        plan.append((step_run, branches))
    return plan


def _resolve(
    ctx: RunContext, body: dict[str, Any], run: ActionRun, selectors: dict[str, dict[str, Any]]
) -> Resolved:
    w = ctx.world
    resolved = Resolved(body, run)
    urn = resolved.urn
    if urn.lower().startswith(VMSS_SHUTDOWN_PREFIX.lower()):
        scale_set = w.scale_set
        raise UnsupportedOrchestrationMode(
            f"the fault {urn} supports only Virtual Machine Scale Sets in Uniform "
            f"orchestration; scale set '{scale_set.name}' uses {scale_set.orchestration_mode} "
            f"orchestration. Use the virtual machine shutdown fault ({VM_SHUTDOWN_URN}) on "
            f"{VM_TARGET} targets to shut down selected instances."
        )
    if urn.lower() not in FAULTS:
        raise UnsupportedFault(f"the emulator does not run the fault {urn}.")
    if urn.lower() == DELAY_URN.lower():
        return resolved
    selector = selectors.get(str(body.get("selectorId", "")).lower())
    if selector is None:
        raise InvalidSelector(f"no selector '{body.get('selectorId')}'.")
    if str(selector.get("type", "")).lower() != "list":
        raise UnsupportedSelector(
            f"selector '{selector.get('id')}' is a {selector.get('type')} selector; the "
            "emulator resolves List selectors only."
        )
    zones = _zones(selector)
    for target_run in run.targets:
        target = w.chaos.target_by_id(target_run.target)
        vm = _check_target(ctx, target_run, target, urn)
        if zones is None or vm.zone in zones:
            resolved.vms.append((target_run, vm.name))
        else:
            target_run.status = SKIPPED
    if len(resolved.vms) > MAX_TARGETS_PER_ACTION:
        raise TooManyTargets(
            f"action {urn} selects {len(resolved.vms)} targets; the limit is "
            f"{MAX_TARGETS_PER_ACTION}."
        )
    return resolved


def _check_target(
    ctx: RunContext, target_run: TargetRun, target: ChaosTarget | None, urn: str
) -> VirtualMachine:
    def fail(error: AzureError) -> AzureError:
        target_run.fail(error, ctx.world.clock.now())
        return error

    if target is None:
        raise fail(
            TargetNotFound(
                f"target '{target_run.target}' is not enabled; create it with PUT "
                f"<vm id>/providers/Microsoft.Chaos/targets/{VM_TARGET}."
            )
        )
    if urn.lower() not in target.enabled_urns():
        capability = capability_name(urn)
        raise fail(
            CapabilityNotEnabled(
                f"capability '{capability}' ({urn}) is not enabled on target '{target.id}'; "
                f"enable it with PUT {target.id}/capabilities/{capability}."
            )
        )
    vm = ctx.world.vm(target.parent_id.rsplit("/", 1)[-1])
    if vm is None or vm.id.lower() != target.parent_id.lower():
        raise fail(ResourceNotFound(f"the target's resource '{target.parent_id}' is gone."))
    return vm


def _zones(selector: dict[str, Any]) -> set[str] | None:
    chosen = selector.get("filter") or {}
    if str(chosen.get("type", "")).lower() != "simple":
        return None
    zones = (chosen.get("parameters") or {}).get("zones")
    return {str(z) for z in zones} if zones else None
