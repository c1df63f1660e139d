"""Every Chaos Studio resource of the world: targets, experiments (with their executions) and
the Chaos long-running operations; it also owns the tasks that provision experiments and run
executions, so that they stop with the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any

from emulator.clock import Clock
from emulator.models.chaos.experiments import (
    SUCCEEDED,
    Experiment,
    check_definition,
    with_principal,
)
from emulator.models.chaos.targets import ChaosTarget
from emulator.models.errors import BadRequest, Conflict, ResourceNotFound
from emulator.models.operations import Operation

# Platform seconds an experiment create, update or delete takes (Azure publishes no figure).
PROVISION_S = 5.0


class ChaosState:
    """Every target, experiment and Chaos long-running operation; owns the executor tasks."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.targets: dict[tuple[str, str], ChaosTarget] = {}
        self.experiments: dict[str, Experiment] = {}
        self.operations: dict[str, Operation] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # For testing the harness only (PUT /_emulator/control-faults): "normal"; "inert" =
        # actions run their course but touch no VM; "fail" = every action fails.
        self.actions: str = "normal"

    # ----- targets --------------------------------------------------------------------------
    def target(self, parent_id: str, name: str) -> ChaosTarget | None:
        return self.targets.get((parent_id.lower(), name.lower()))

    def targets_of(self, parent_id: str) -> list[ChaosTarget]:
        return [t for (p, _), t in self.targets.items() if p == parent_id.lower()]

    def put_target(self, target: ChaosTarget) -> bool:
        """Create or update; True when new. Capabilities survive an update."""
        key = (target.parent_id.lower(), target.name.lower())
        current = self.targets.get(key)
        if current is not None:
            current.properties = target.properties
            return False
        self.targets[key] = target
        return True

    def delete_target(self, parent_id: str, name: str) -> bool:
        return self.targets.pop((parent_id.lower(), name.lower()), None) is not None

    def target_by_id(self, target_id: str) -> ChaosTarget | None:
        """Resolve `{parentId}/providers/Microsoft.Chaos/targets/{name}` (case-insensitive)."""
        parent, sep, name = target_id.rpartition("/providers/Microsoft.Chaos/targets/")
        if not sep:
            lowered = target_id.lower()
            marker = "/providers/microsoft.chaos/targets/"
            index = lowered.rfind(marker)
            if index < 0:
                return None
            parent, name = target_id[:index], target_id[index + len(marker) :]
        return self.target(parent, name.strip("/"))

    # ----- experiments ----------------------------------------------------------------------
    def experiment(self, name: str) -> Experiment | None:
        return self.experiments.get(name.lower())

    def get_experiment(self, resource_group: str, name: str) -> Experiment:
        found = self.experiment(name)
        if found is None:
            raise ResourceNotFound.in_group("Microsoft.Chaos/experiments", name, resource_group)
        return found

    def put_experiment(
        self, experiment_id: str, name: str, body: dict[str, Any]
    ) -> tuple[Experiment, Operation, bool]:
        """Create or update from the PUT body (validated first; BadRequest, Conflict); the
        experiment is Creating/Updating until the returned operation ends. True when new."""
        location = body.get("location")
        if not isinstance(location, str) or not location:
            raise BadRequest("An experiment needs a 'location' (a region with Chaos Studio).")
        props = body.get("properties")
        if not isinstance(props, dict):
            raise BadRequest("An experiment needs a 'properties' object.")
        selectors, steps = check_definition(props)
        current = self.experiment(name)
        if current is not None and current.busy:
            raise Conflict(
                f"Experiment '{current.name}' is running or being provisioned; it cannot be "
                "changed now."
            )
        if current is None:
            exp = Experiment(name, experiment_id, location, selectors, steps)
            self.experiments[name.lower()] = exp
        else:
            exp = current
            exp.location, exp.selectors, exp.steps = location, selectors, steps
            exp.provisioning_state = "Updating"
            exp.modified_at = self.clock.now()
        exp.identity = with_principal(body.get("identity"), current)
        exp.tags = {str(k): str(v) for k, v in (body.get("tags") or {}).items()}
        op = self.new_operation("experiments.put", exp.id, self.clock.wall(PROVISION_S))
        self.spawn(self._provision(exp, op))
        return exp, op, current is None

    def begin_delete_experiment(self, resource_group: str, name: str) -> Operation | None:
        """Deleting until the operation ends, then gone; None when there is no such experiment."""
        exp = self.experiment(name)
        if exp is None:
            return None
        if exp.busy:
            raise Conflict(
                f"Experiment '{exp.name}' in '{resource_group}' is running or being "
                "provisioned; cancel it or wait before deleting it."
            )
        exp.provisioning_state = "Deleting"
        op = self.new_operation("experiments.delete", exp.id, self.clock.wall(PROVISION_S))
        self.spawn(self._provision(exp, op, delete=True))
        return op

    async def _provision(self, exp: Experiment, op: Operation, delete: bool = False) -> None:
        await self.clock.sleep(PROVISION_S)
        if delete:
            self.experiments.pop(exp.name.lower(), None)
        else:
            exp.provisioning_state = SUCCEEDED
        op.finish()

    # ----- operations and tasks -------------------------------------------------------------
    def new_operation(self, name: str, resource_id: str, wall_duration: float) -> Operation:
        op = Operation(name, resource_id, None, wall_duration)
        self.operations[op.id] = op
        return op

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
