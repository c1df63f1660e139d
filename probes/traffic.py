"""Synthetic traffic probe: GETs at a fixed rate through the load balancer, independent of Locust.

Default: a fresh TCP connection per request. Each request is then a new flow that the load
balancer routes with its current view of the backends, so the probe sees a dead backend exactly
as long as the load balancer still sends new flows to it — the failover the experiment is about.
Requests run on a small thread pool so the schedule holds while some hang (a black-holed
connect on Azure waits for the timeout): up to ceil(rate × timeout) + 1 in flight; a tick with
no free slot is skipped and counted. With keep-alive (fresh_connection=False) the probe is one
client with one connection, one request at a time, and sticks to one backend: if that backend
survives, it sees no failure at all; if it dies, it sees the reset and then wherever its next
connection lands. Keep-alive measures one client's luck, not the load balancer.
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pandas as pd

from flexchaos.errors import FlexchaosError
from probes.sampler import TickLoop, TickStats
from probes.timeline import REQUEST_COLUMNS, normalize

SERVED_BY_HEADER = "X-Served-By"
DEFAULT_RATE_HZ = 20.0
DEFAULT_TIMEOUT_S = 2.0  # the harness passes flexchaos/request_timeouts.py's probe_timeout
DEFAULT_MAX_DURATION_S = 3600.0
MAX_RATE_HZ = 1000.0
MAX_IN_FLIGHT = 64


class TrafficProbe:
    """Requests `url` every 1/rate_hz s in a thread; one row per request (source="probe")."""

    def __init__(
        self,
        url: str,
        rate_hz: float = DEFAULT_RATE_HZ,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        fresh_connection: bool = True,
        max_duration_s: float = DEFAULT_MAX_DURATION_S,
        max_requests: int | None = None,
    ) -> None:
        if not 0 < rate_hz <= MAX_RATE_HZ:
            raise FlexchaosError(
                f"traffic probe rate must be in (0, {MAX_RATE_HZ:g}] Hz; got {rate_hz}"
            )
        self.url = url
        self.timeout_s = timeout_s
        self.fresh_connection = fresh_connection
        limits = httpx.Limits(max_keepalive_connections=0 if fresh_connection else 1)
        headers = {"Connection": "close"} if fresh_connection else {}
        self._client = httpx.Client(timeout=timeout_s, limits=limits, headers=headers)
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        in_flight = min(MAX_IN_FLIGHT, math.ceil(rate_hz * timeout_s) + 1)
        self.max_in_flight = in_flight if fresh_connection else 1
        self.skipped = 0  # ticks with every slot busy
        self._slots = threading.BoundedSemaphore(self.max_in_flight)
        self._pool = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="traffic-probe")
        self._loop = TickLoop(
            self._dispatch, 1.0 / rate_hz, max_duration_s, "traffic-probe", max_requests
        )

    def tick_stats(self) -> TickStats:
        return self._loop.stats()

    def _dispatch(self) -> None:
        if not self._slots.acquire(blocking=False):
            self.skipped += 1
            return
        self._pool.submit(self._request_and_release)

    def _request_and_release(self) -> None:
        try:
            self.request_once()
        finally:
            self._slots.release()

    def request_once(self) -> dict[str, Any]:
        start = time.time()
        began = time.perf_counter()
        status, served_by, error = 0, None, None
        try:
            response = self._client.get(self.url)
            status = response.status_code
            served_by = response.headers.get(SERVED_BY_HEADER)
            ok = response.is_success
            if not ok:
                error = f"HTTP {status}"
        except httpx.HTTPError as exc:
            ok = False
            error = f"{type(exc).__name__}: {exc}"[:300]
        row = {
            "start": start,
            "latency_ms": (time.perf_counter() - began) * 1000.0,
            "ok": ok,
            "status": status,
            "served_by": served_by,
            "error": error,
            "source": "probe",
        }
        with self._lock:
            self._rows.append(row)
        return row

    def start(self) -> TrafficProbe:
        self._loop.start()
        return self

    def stop(self) -> pd.DataFrame:
        """Stop ticking, let requests in flight finish (each is bounded by the timeout)."""
        self._loop.stop()
        self._pool.shutdown(wait=True)
        self._client.close()
        return self.frame()

    def frame(self) -> pd.DataFrame:
        with self._lock:
            rows = list(self._rows)
        return normalize(pd.DataFrame.from_records(rows), REQUEST_COLUMNS, "start")

    def recent(self, since: float) -> pd.DataFrame:
        """The requests started at or after `since` (epoch s) and answered so far: what the
        abort check reads every tick, without building the whole run's table. Rows are kept
        in answer order, and a request is answered within its timeouts (connect, then read:
        httpx applies the timeout to each phase) after its start."""
        with self._lock:
            found: list[dict[str, Any]] = []
            for row in reversed(self._rows):
                if row["start"] + 4 * self.timeout_s + 1.0 < since:
                    break
                if row["start"] >= since:
                    found.append(row)
        return normalize(pd.DataFrame.from_records(found[::-1]), REQUEST_COLUMNS, "start")

    def __enter__(self) -> TrafficProbe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
