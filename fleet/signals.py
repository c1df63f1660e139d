"""SIGINT/SIGTERM during a fault become an exception, so finally blocks revert the fleet.

The handlers are installed for the duration of a `with` block and the previous handlers are
restored afterwards. Once one signal has been turned into an exception, further signals are
noted but ignored, so that the revert they triggered is not itself interrupted.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A signal arrived while a fault was in; unwinds to the reverts."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


@contextmanager
def revert_on_signals() -> Iterator[None]:
    """Turn the first SIGINT/SIGTERM into Interrupted; no-op outside the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if fired:
            return
        fired.append(signum)
        raise Interrupted(signum)

    previous: dict[int, Any] = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
