"""Per-request log for Locust: one JSON line per request, one file per process.

Locust's CSV history is 1 s coarse and its Requests/s column is a trailing mean, so the timeline
is built from these lines instead. Importing this module registers the listener; a user who
writes their own locustfile keeps the log with one line: `import load.request_log`.

Each line: {"start": epoch float, "latency_ms", "ok", "status", "served_by", "error",
"source": "locust"}. Lines are buffered and written at most every FLUSH_INTERVAL_S (and at test
stop / quit), so the log costs almost nothing per request. Workers each write their own file;
the timeline merges them.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import gevent
from locust import events

from load.env import LOG_DIR_ENV

DEFAULT_LOG_DIR = "flexchaos-requests"
SERVED_BY_HEADER = "X-Served-By"
FLUSH_INTERVAL_S = 0.25
FLUSH_LINES = 500


class RequestLog:
    """Buffered JSON-lines writer; the file is created on the first request only."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / f"requests-{socket.gethostname()}-{os.getpid()}.jsonl"
        self._lines: list[str] = []
        self._last_flush = 0.0  # the first request is written at once: a runner waits for it

    def append(self, record: dict[str, Any]) -> None:
        self._lines.append(json.dumps(record, separators=(",", ":")))
        now = time.monotonic()
        if len(self._lines) >= FLUSH_LINES or now - self._last_flush >= FLUSH_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._lines:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(self._lines) + "\n")
        self._lines.clear()


def _served_by(response: Any) -> str | None:
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    value = headers.get(SERVED_BY_HEADER)
    return str(value) if value is not None else None


def record_for(
    *,
    response_time: float,
    response: Any = None,
    exception: BaseException | None = None,
    start_time: float | None = None,
) -> dict[str, Any]:
    """The log record of one request as Locust's `events.request` describes it."""
    latency_ms = float(response_time or 0.0)
    start = float(start_time) if start_time is not None else time.time() - latency_ms / 1000.0
    status = getattr(response, "status_code", 0) or 0
    return {
        "start": start,
        "latency_ms": latency_ms,
        "ok": exception is None,
        "status": int(status),
        "served_by": _served_by(response),
        "error": None if exception is None else f"{type(exception).__name__}: {exception}"[:300],
        "source": "locust",
    }


LOG = RequestLog(Path(os.environ.get(LOG_DIR_ENV, DEFAULT_LOG_DIR)))


@events.request.add_listener
def _on_request(
    response_time: float,
    response: Any = None,
    exception: BaseException | None = None,
    start_time: float | None = None,
    **_: Any,
) -> None:
    LOG.append(
        record_for(
            response_time=response_time,
            response=response,
            exception=exception,
            start_time=start_time,
        )
    )


def _flush_forever() -> None:
    while True:
        gevent.sleep(FLUSH_INTERVAL_S)
        LOG.flush()


@events.init.add_listener
def _on_init(**_: Any) -> None:
    # Keeps the file live during quiet moments (readers may follow it while the test runs).
    gevent.spawn(_flush_forever)


@events.test_stop.add_listener
def _on_test_stop(**_: Any) -> None:
    LOG.flush()


@events.quitting.add_listener
def _on_quitting(**_: Any) -> None:
    LOG.flush()
