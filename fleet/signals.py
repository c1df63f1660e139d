"""SIGINT/SIGTERM during a fault become an exception, so finally blocks revert the fleet.

The handlers are installed for the duration of a `with` block and the previous handlers are
restored afterwards. The first signal raises Interrupted (unwinding to the reverts); while the
reverts run (`Signals.deferred()`), further signals are only noted, so that a revert is never
cut short, and the noted signal is raised once the reverts are done.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from flexchaos.errors import Interrupted

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Signals:
    """State of the installed handlers: whether to raise now or note for later."""

    def __init__(self) -> None:
        self.fired: int | None = None
        self._deferring = False
        self._noted: int | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self._deferring or self.fired is not None:
            self._noted = self._noted or signum
            return
        self.fired = signum
        raise Interrupted(signum)

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Note signals instead of raising inside the block; raise the noted one after it."""
        self._deferring = True
        try:
            yield
        finally:
            self._deferring = False
        noted, self._noted = self._noted, None
        if noted is not None and self.fired is None:
            self.fired = noted
            raise Interrupted(noted)


@contextmanager
def revert_on_signals() -> Iterator[Signals]:
    """Turn the first SIGINT/SIGTERM into Interrupted; handlers only in the main thread."""
    state = Signals()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    previous: dict[int, Any] = {s: signal.signal(s, state.handle) for s in SIGNALS}
    try:
        yield state
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
