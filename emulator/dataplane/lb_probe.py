"""The load balancer's health probe, one per backend, with Standard Load Balancer semantics.

(docs/azure-behaviour.md §4.) Every `intervalInSeconds` platform seconds the probe opens a new
connection to the backend: HTTP(S) = `GET requestPath` where only 200 counts; TCP = the handshake
completes. `probeThreshold` consecutive failures take the backend out of rotation; one success
puts it back. A probe that takes longer than min(30 s, interval) platform seconds has failed.
A stopped or deallocated VM is not probed at all: it is down at its next tick. A VM that is not
running but still probed (stopping, deallocating after an abrupt stop, being deleted) does not
answer: the probe times out (Down_Probe_TcpProbeTimeout). The probe is the
only thing that changes a backend's state: failed client connections never do. Each backend
keeps the reason code of its state as Azure's health status reports it (probe_reasons.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from emulator.clock import Clock
from emulator.dataplane import probe_reasons
from emulator.dataplane.http_check import Check, http_check, tcp_check

ProbeProtocol = Literal["Http", "Https", "Tcp"]
PROBE_TIMEOUT_PLATFORM_S = 30.0
MAX_PROBES_PER_S = 400  # per kind (LB, extension): see pacing in docs/emulator-data-plane.md


@dataclass(frozen=True)
class ProbeSettings:
    """The probe of the load-balancing rule (ARM `ProbePropertiesFormat`, JSON names)."""

    port: int
    protocol: ProbeProtocol = "Http"
    request_path: str | None = "/health"
    interval_in_seconds: float = 5.0
    probe_threshold: int = 1

    def __post_init__(self) -> None:
        if self.protocol not in ("Http", "Https", "Tcp"):
            raise ValueError(f"probe protocol must be Http, Https or Tcp, got {self.protocol!r}")
        if self.interval_in_seconds <= 0 or self.probe_threshold < 1:
            raise ValueError("probe interval must be > 0 and probeThreshold >= 1")

    @property
    def timeout_platform_s(self) -> float:
        return min(PROBE_TIMEOUT_PLATFORM_S, self.interval_in_seconds)


async def probe_once(host: str, settings: ProbeSettings, clock: Clock) -> Check:
    """One probe of (host, settings.port): how it went (`succeeded` says whether it passed)."""
    timeout = clock.wall(settings.timeout_platform_s)
    if settings.protocol == "Tcp":
        return await tcp_check(host, settings.port, timeout)
    return await http_check(
        host,
        settings.port,
        settings.request_path or "/",
        timeout,
        tls=settings.protocol == "Https",
        user_agent="Load Balancer Agent",
    )


def succeeded(check: Check, settings: ProbeSettings) -> bool:
    """TCP: the handshake completed; HTTP(S): the answer was 200 (nothing else passes)."""
    if settings.protocol == "Tcp":
        return check.outcome == "answered"
    return check.status == 200


class BackendProbe:
    """Probes one backend address on its own schedule and reports up/down transitions."""

    def __init__(
        self,
        host: str,
        settings: ProbeSettings,
        clock: Clock,
        on_change: Callable[[bool], None],
        *,
        up: bool = False,
        min_wall_interval: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.host = host
        self.settings = settings
        self.probed = True  # False while the VM is stopped or deallocated
        self.blackholed = False  # the VM cannot answer: a probe waits its timeout and fails
        self.up = up
        # Azure's reason code for the current state; None: not probed (the VM is off)
        self.reason: str | None = probe_reasons.UP_SUCCESS if up else probe_reasons.NOT_PROBED_YET
        self.probes = 0
        self._clock = clock
        self._min_wall_interval = min_wall_interval
        self._on_change = on_change
        self._failures = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        """A backend that is down probes at once (it gets no traffic until then); one already
        up (the initial fleet) first waits a random part of the interval, so that a pool's
        probes do not all fire together. Then every interval."""
        if self.up:
            await asyncio.sleep(self._wall_interval() * random.random())
        while True:
            await self.tick()
            await asyncio.sleep(self._wall_interval())

    def _wall_interval(self) -> float:
        return max(self._clock.wall(self.settings.interval_in_seconds), self._min_wall_interval())

    async def tick(self) -> None:
        """One probe interval: probe (unless the VM is not running) and apply the thresholds."""
        if not self.probed:
            self._failures = self.settings.probe_threshold
            self.reason = None  # Azure: no health status for a VM that is turned off
            self._set(False)
            return
        self.probes += 1
        if self.blackholed:  # nothing answers the SYN: the probe times out before a handshake
            await asyncio.sleep(self._clock.wall(self.settings.timeout_platform_s))
            check = Check("timeout")
        else:
            check = await probe_once(self.host, self.settings, self._clock)
        if succeeded(check, self.settings):
            self._failures = 0
            self.reason = probe_reasons.UP_SUCCESS
            self._set(True)
        else:
            self._failures += 1
            out = self._failures >= self.settings.probe_threshold
            self.reason = (
                probe_reasons.failure_reason(check, self.settings.protocol)
                if out or not self.up
                else probe_reasons.UP_APPROACHING_UNHEALTHY
            )
            if out:
                self._set(False)

    def _set(self, up: bool) -> None:
        if up != self.up:
            self.up = up
            self._on_change(up)
