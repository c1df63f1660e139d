"""Long-running operation records: what the status monitor and the Location URL report."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

IN_PROGRESS = "InProgress"
SUCCEEDED = "Succeeded"
FAILED = "Failed"


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
    error_code: str | None = None
    error_message: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def finished(self) -> bool:
        return self.status != IN_PROGRESS

    def remaining_wall(self) -> float:
        """Wall seconds until the operation is expected to finish (0 when overdue or done)."""
        if self.finished:
            return 0.0
        return max(0.0, self.start_time + self.expected_wall_duration - time.time())

    def finish(self, status: str = SUCCEEDED, code: str | None = None, message: str = "") -> None:
        self.status = status
        self.end_time = time.time()
        if code is not None:
            self.error_code, self.error_message = code, message
        self.done.set()
