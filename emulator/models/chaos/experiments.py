"""Chaos Studio experiments: the definition as sent (wire JSON selectors and steps), what the
service validates when it is PUT, and what the service adds (identity, provisioning state).

Limits are chaos-studio-service-limits' (docs/azure-behaviour.md §5.2). Each known fault must
be used with its own action type (targets.py): a discrete redeploy, a continuous shutdown.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator.models.chaos.executions import Execution
from emulator.models.chaos.targets import ACTION_TYPES, CONTINUOUS, DELAY, action_type_of
from emulator.models.errors import BadRequest

MAX_STEPS = 4
MAX_BRANCHES = 9
MAX_ACTIONS = 9
MAX_TARGETS_PER_ACTION = 50
MAX_DURATION_S = 12 * 3600
SUCCEEDED = "Succeeded"  # provisioningState once created, updated or (until gone) deleted
TENANT_ID = "00000000-0000-0000-0000-0000000070a0"

_DURATION = re.compile(
    r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> float:
    """ISO 8601 duration (PT10M, PT1H30M, P0DT0H0M30S) → seconds; ValueError when malformed."""
    match = _DURATION.match(str(text).strip())
    if match is None or text.strip() in ("P", "PT"):
        raise ValueError(f"'{text}' is not an ISO 8601 duration such as PT10M")
    d, h, m, s = (match.group(k) for k in ("d", "h", "m", "s"))
    return int(d or 0) * 86400 + int(h or 0) * 3600 + int(m or 0) * 60 + float(s or 0)


@dataclass
class Experiment:
    """Microsoft.Chaos/experiments: the body as sent, plus what the service adds."""

    name: str
    id: str
    location: str
    selectors: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    identity: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    provisioning_state: str = "Creating"
    created_at: float = field(default_factory=time.time)
    modified_at: float = field(default_factory=time.time)
    executions: list[Execution] = field(default_factory=list)

    def running(self) -> Execution | None:
        return next((e for e in reversed(self.executions) if not e.finished), None)

    def execution(self, execution_id: str) -> Execution | None:
        lowered = execution_id.lower()
        return next((e for e in self.executions if e.id.lower() == lowered), None)

    @property
    def busy(self) -> bool:
        """Running or being provisioned: it cannot be changed, started or deleted now."""
        return self.running() is not None or self.provisioning_state != SUCCEEDED


def check_definition(props: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    """What the service validates on PUT (BadRequest, nothing created): shape, limits,
    durations, action types and selector references. Returns (selectors, steps)."""
    selectors, steps = props.get("selectors"), props.get("steps")
    if not isinstance(selectors, list) or not isinstance(steps, list) or not steps:
        raise BadRequest("An experiment needs properties.selectors and at least one step.")
    ids = set()
    for selector in selectors:
        if not isinstance(selector, dict) or not selector.get("id"):
            raise BadRequest("Every selector needs an 'id'.")
        if str(selector.get("type", "")).lower() not in ("list", "query"):
            raise BadRequest(f"Selector '{selector['id']}' has type {selector.get('type')!r}.")
        ids.add(str(selector["id"]).lower())
    if len(steps) > MAX_STEPS:
        raise BadRequest(f"An experiment has at most {MAX_STEPS} steps, not {len(steps)}.")
    for step in steps:
        branches = step.get("branches") if isinstance(step, dict) else None
        if not isinstance(branches, list) or not 1 <= len(branches) <= MAX_BRANCHES:
            raise BadRequest(f"Every step needs 1 to {MAX_BRANCHES} branches.")
        for branch in branches:
            actions = branch.get("actions") if isinstance(branch, dict) else None
            if not isinstance(actions, list) or not 1 <= len(actions) <= MAX_ACTIONS:
                raise BadRequest(f"Every branch needs 1 to {MAX_ACTIONS} actions.")
            for action in actions:
                _check_action(action, ids)
    return selectors, steps


def _check_action(action: Any, selector_ids: set[str]) -> None:
    if not isinstance(action, dict) or not action.get("name"):
        raise BadRequest("Every action needs a 'name' (the fault URN).")
    name, kind = action["name"], str(action.get("type", "")).lower()
    if kind not in ACTION_TYPES:
        raise BadRequest(f"Action {name} has type {action.get('type')!r}.")
    expected = action_type_of(str(name))
    if expected is not None and kind != expected:
        raise BadRequest(
            f"Action {name} is a {expected} fault in Chaos Studio's fault library; its type "
            f"must be '{expected}', not '{action.get('type')}'."
        )
    if kind in (CONTINUOUS, DELAY):
        try:
            seconds = parse_duration(str(action.get("duration", "")))
        except ValueError as exc:
            raise BadRequest(f"Action {name}: {exc}.") from None
        if not 0 < seconds <= MAX_DURATION_S:
            raise BadRequest(f"Action {name}: the duration must be > 0 and <= PT12H.")
    if kind == DELAY:
        return
    if not isinstance(action.get("parameters", []), list):
        raise BadRequest(f"Action {name}: 'parameters' must be a list of key/value pairs.")
    if str(action.get("selectorId", "")).lower() not in selector_ids:
        raise BadRequest(
            f"Action {name} refers to selector {action.get('selectorId')!r}, "
            "which the experiment does not define."
        )


def with_principal(
    identity: dict[str, Any] | None, current: Experiment | None
) -> dict[str, Any] | None:
    """The identity as sent, plus the principal and tenant the service assigns to a
    system-assigned identity (kept across updates)."""
    if not isinstance(identity, dict):
        return None
    rendered = dict(identity)
    if "SystemAssigned" in str(identity.get("type", "")):
        kept = (current.identity or {}) if current else {}
        rendered["principalId"] = kept.get("principalId") or str(uuid.uuid4())
        rendered["tenantId"] = kept.get("tenantId") or TENANT_ID
    return rendered
