"""Reading Chaos Studio executions: status changes with their times, the new execution a start
made (`begin_start` returns nothing), and when the service started an action — what the
Chaos Studio faults (fleet/faults/chaos_studio.py) hold, prove and time themselves by.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from fleet.azure_errors import translated
from fleet.faults.base import Effect
from fleet.operations import VmOps
from flexchaos.errors import FlexchaosError, NotFound, OperationTimeout

TERMINAL = ("success", "failed", "cancelled", "canceled")
RUNNING = ("running", "preprocessingqueued", "waitingtostart", "cancelling")


def is_terminal(status: str | None) -> bool:
    """Execution statuses compare case-insensitively (Azure's examples use lower case)."""
    return str(status or "").lower() in TERMINAL


def status(ops: VmOps, rg: str, name: str, effect: Effect) -> str:
    """The execution's status now; each change is kept (time, status) in the effect."""
    chaos = ops.target.clients.chaos
    with translated(f"read the execution of {name}"):
        execution = chaos.experiments.get_execution(rg, name, effect.detail["execution_id"])
    status = str(execution.status)
    statuses = effect.detail.setdefault("statuses", [])
    if not statuses or statuses[-1][1] != status:
        statuses.append((time.time(), status))
    return status


def action_started(ops: VmOps, rg: str, name: str, effect: Effect) -> float | None:
    """The earliest startTime of any action in the execution's details (None: none started,
    or the details could not be read — then the clock stays at the start call)."""
    try:
        with translated(f"read the execution details of {name}"):
            found = ops.target.clients.chaos.experiments.execution_details(
                rg, name, effect.detail["execution_id"]
            )
    except FlexchaosError:
        return None
    details = dict(found.serialize(keep_readonly=True))
    run = (details.get("properties") or {}).get("runInformation") or {}
    starts = [
        epoch(action.get("startTime"))
        for step in run.get("steps") or []
        for branch in step.get("branches") or []
        for action in branch.get("actions") or []
    ]
    return min((t for t in starts if t is not None), default=None)


def epoch(value: Any) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def execution_ids(ops: VmOps, rg: str, name: str) -> set[str]:
    try:
        with translated(f"list executions of {name}"):
            return {
                str(e.name)
                for e in ops.target.clients.chaos.experiments.list_all_executions(rg, name)
            }
    except NotFound:
        return set()


def new_execution(ops: VmOps, rg: str, name: str, before: set[str]) -> str:
    """The execution the start made: begin_start returns nothing, so list and compare."""
    deadline = time.monotonic() + ops.timeout_s
    while True:
        with translated(f"list executions of {name}"):
            executions = list(ops.target.clients.chaos.experiments.list_all_executions(rg, name))
        fresh = [e for e in executions if str(e.name) not in before]
        if fresh:
            newest = max(fresh, key=lambda e: e.started_at.timestamp() if e.started_at else 0)
            return str(newest.name)
        if time.monotonic() >= deadline:
            raise OperationTimeout(
                f"experiment {name} was started but no new execution appeared within "
                f"{ops.timeout_s:.0f} s; run `flexchaos rollback`"
            )
        time.sleep(ops.target.poll_interval_s)
