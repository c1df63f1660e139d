"""Chaos Studio executions: one run of an experiment, its status and its runInformation
(steps → branches → actions → targets), as getExecutionDetails reports them.

Execution statuses compare case-insensitively: Azure's own examples spell terminal values in
lower case, the portal capitalises them (docs/azure-behaviour.md §5.2). These are the
spellings the emulator answers.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator.models.errors import AzureError
from emulator.models.operations import Operation

PRE_PROCESSING_QUEUED = "PreProcessingQueued"
WAITING_TO_START = "WaitingToStart"
RUNNING = "Running"
CANCELLING = "Cancelling"
SUCCESS = "Success"
FAILED = "Failed"
CANCELLED = "Cancelled"
TERMINAL = (SUCCESS, FAILED, CANCELLED)
# Step, branch, action and target statuses in runInformation.
PENDING = "Pending"
SUCCEEDED = "Succeeded"
SKIPPED = "Skipped"  # a target a zone filter leaves out


@dataclass
class TargetRun:
    """One target of one action in an execution."""

    target: str  # the target resource id from the selector
    status: str = PENDING
    completed_time: float | None = None
    failed_time: float | None = None
    error: AzureError | None = None

    def fail(self, error: AzureError, now: float) -> None:
        self.status, self.failed_time, self.error = FAILED, now, error

    def complete(self, now: float) -> None:
        self.status, self.completed_time = SUCCEEDED, now


@dataclass
class ActionRun:
    name: str  # the fault URN
    id: str
    status: str = PENDING
    start_time: float | None = None
    end_time: float | None = None
    targets: list[TargetRun] = field(default_factory=list)


@dataclass
class BranchRun:
    name: str
    id: str
    status: str = PENDING
    actions: list[ActionRun] = field(default_factory=list)


@dataclass
class StepRun:
    name: str
    id: str
    status: str = PENDING
    branches: list[BranchRun] = field(default_factory=list)


@dataclass
class Execution:
    """One run of an experiment; the executor moves `status` and fills runInformation."""

    experiment: str
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = PRE_PROCESSING_QUEUED
    started_at: float = field(default_factory=time.time)
    stopped_at: float | None = None
    last_action_at: float | None = None
    failure_reason: str | None = None
    steps: list[StepRun] = field(default_factory=list)
    cancel_requested: asyncio.Event = field(default_factory=asyncio.Event)
    start_operation: Operation | None = None
    cancel_operation: Operation | None = None

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def mark_open(self, status: str) -> None:
        """Steps, branches, actions and targets still pending or running end with `status`."""
        for step in self.steps:
            for branch in step.branches:
                for action in branch.actions:
                    for target in action.targets:
                        if target.status in (PENDING, RUNNING):
                            target.status = status
                    if action.status in (PENDING, RUNNING):
                        action.status = status
                if branch.status in (PENDING, RUNNING):
                    branch.status = status
            if step.status in (PENDING, RUNNING):
                step.status = status


def skeleton(selectors: list[dict[str, Any]], steps: list[dict[str, Any]]) -> list[StepRun]:
    """runInformation as an execution starts: every step, branch, action and target Pending."""
    by_id = {str(s.get("id", "")).lower(): s for s in selectors}
    runs = []
    for step in steps:
        branches = []
        for branch in step.get("branches") or []:
            actions = []
            for action in branch.get("actions") or []:
                selector = by_id.get(str(action.get("selectorId", "")).lower()) or {}
                targets = [
                    TargetRun(str(t.get("id", "")))
                    for t in selector.get("targets") or []
                    if isinstance(t, dict)
                ]
                actions.append(ActionRun(str(action.get("name", "")), _new_id(), targets=targets))
            branches.append(BranchRun(str(branch.get("name", "")), _new_id(), actions=actions))
        runs.append(StepRun(str(step.get("name", "")), _new_id(), branches=branches))
    return runs


def _new_id() -> str:
    return str(uuid.uuid4())
