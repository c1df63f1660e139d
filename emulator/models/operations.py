"""Long-running operation records: what the status monitor and the Location URL report.

Compute and Chaos Studio operations are the same record; emulator/responses/operations.py
renders them for either provider.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

from emulator.models.errors import ArmError

IN_PROGRESS = "InProgress"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
CANCELED = "Canceled"


@dataclass
class Operation:
    """One accepted operation on a resource; `done` is set when it reaches a terminal status."""

    name: str  # Azure's operation name, e.g. "powerOff", "start", "extensions.put"
    resource_id: str
    vm: str | None
    expected_wall_duration: float
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    status: str = IN_PROGRESS
    start_time: float = field(default_factory=time.time)
    end_time: float | None = None
    error: ArmError | None = None  # why it failed (the status monitor's `error`)
    output: object | None = None  # what it produced, when its final answer has a body
    done: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = field(default=None, repr=False)  # what runs it, if any

    @property
    def finished(self) -> bool:
        return self.status != IN_PROGRESS

    def remaining_wall(self) -> float:
        """Wall seconds until the operation is expected to finish (0 when overdue or done)."""
        if self.finished:
            return 0.0
        return max(0.0, self.start_time + self.expected_wall_duration - time.time())

    async def result(self) -> None:
        """Wait until it ends; raise its error if it failed."""
        await self.done.wait()
        if self.error is not None:
            raise self.error

    def finish(self, error: ArmError | None = None, canceled: bool = False) -> None:
        """Succeeded, or Failed (Canceled when `canceled`) with `error`; wakes whoever awaits
        `done`."""
        self.status = SUCCEEDED if error is None else CANCELED if canceled else FAILED
        self.error = error
        self.end_time = time.time()
        self.done.set()
