"""The Application Health extension running in one VM's guest (Binary health states, v1.0).

(docs/azure-behaviour.md §3.) In the guest the extension probes the VM's own app: HTTP(S) `GET
requestPath` where only 200 is Healthy, or TCP where a completed handshake is Healthy. It starts
as Initializing; `numberOfProbes` consecutive identical results are needed to change the state,
in both directions. It probes every `intervalInSeconds` platform seconds with a timeout of
min(30 s, interval). It runs only while the VM runs: when the VM leaves running it stops (a
stopped VM sends no signal, and the data plane clears its vmHealth); a settings change restarts
it (a new handler process starts as Initializing).

This signal is independent of the load balancer's probe: a broken extension can make a VM
Unhealthy while the load balancer keeps routing to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from emulator.clock import Clock
from emulator.dataplane.http_check import http_status, tcp_connects

HealthState = Literal["Healthy", "Unhealthy", "Initializing"]
PROBE_TIMEOUT_PLATFORM_S = 30.0
USER_AGENT = "ApplicationHealthExtension/1.0"


@dataclass(frozen=True)
class ExtensionSettings:
    """The extension's public settings (JSON names in ARM: protocol, port, requestPath,
    intervalInSeconds, numberOfProbes), with Azure's defaults and bounds applied."""

    protocol: str = "http"
    port: int = 80
    request_path: str = "/"
    interval_in_seconds: float = 5.0
    number_of_probes: int = 1

    @classmethod
    def from_arm(cls, settings: dict[str, Any] | None, app_port: int) -> ExtensionSettings:
        """Read ARM settings; a missing port means the app port, out-of-range values are
        clamped to Azure's bounds (interval 5-60 s, probes 1-24)."""
        settings = settings or {}
        protocol = str(settings.get("protocol", "http")).lower()
        port = settings.get("port")
        interval = settings.get("intervalInSeconds", 5)
        probes = settings.get("numberOfProbes", 1)
        return cls(
            protocol=protocol,
            port=int(port) if str(port).isdigit() and int(port) > 0 else app_port,
            request_path=str(settings.get("requestPath") or "/"),
            interval_in_seconds=float(min(60, max(5, _number(interval, 5)))),
            number_of_probes=int(min(24, max(1, _number(probes, 1)))),
        )

    @property
    def timeout_platform_s(self) -> float:
        return min(PROBE_TIMEOUT_PLATFORM_S, self.interval_in_seconds)


def _number(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


async def probe_app(host: str, settings: ExtensionSettings, clock: Clock) -> bool:
    """One in-guest probe: True = Healthy."""
    timeout = clock.wall(settings.timeout_platform_s)
    if settings.protocol == "tcp":
        return await tcp_connects(host, settings.port, timeout)
    if settings.protocol not in ("http", "https"):
        return False  # a protocol the handler does not know: it reports Unhealthy
    status = await http_status(
        host,
        settings.port,
        settings.request_path,
        timeout,
        tls=settings.protocol == "https",
        user_agent=USER_AGENT,
    )
    return status == 200


class HealthExtensionProber:
    """One VM's extension: probes its app and reports state changes through `report`."""

    def __init__(
        self,
        vm: str,
        host: str,
        settings: ExtensionSettings,
        clock: Clock,
        report: Callable[[str, HealthState], None],
        min_wall_interval: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.vm = vm
        self.host = host
        self.settings = settings
        self.state: HealthState | None = None
        self.probes = 0
        self._clock = clock
        self._min_wall_interval = min_wall_interval
        self._report = report
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self, initial: str | None = None) -> None:
        """Start the handler: Initializing until numberOfProbes identical results.

        `initial` = Healthy/Unhealthy continues from a known state without reporting it (the
        emulator's initial fleet, which has been running before the emulator started)."""
        if self._task is None:
            if initial in ("Healthy", "Unhealthy"):
                self.state = initial  # type: ignore[assignment]
            else:
                self._set("Initializing")
            # a known state (the initial fleet): start at a random phase, not all at once
            delay = self._wall_interval() * random.random() if self.state != "Initializing" else 0
            self._task = asyncio.get_running_loop().create_task(self._run(delay))

    async def stop(self) -> None:
        """The VM left running: stop probing (the prober keeps its last state)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def reload(self, settings: ExtensionSettings) -> None:
        """New settings: the handler restarts with them (if it was running)."""
        was_running = self.running
        await self.stop()
        self.settings = settings
        if was_running:
            self.start()

    def _wall_interval(self) -> float:
        return max(self._clock.wall(self.settings.interval_in_seconds), self._min_wall_interval())

    async def _run(self, delay: float) -> None:
        await asyncio.sleep(delay)
        last: bool | None = None
        streak = 0
        while True:
            ok = await probe_app(self.host, self.settings, self._clock)
            self.probes += 1
            streak = streak + 1 if ok == last else 1
            last = ok
            if streak >= self.settings.number_of_probes:
                self._set("Healthy" if ok else "Unhealthy")
            await asyncio.sleep(self._wall_interval())

    def _set(self, state: HealthState) -> None:
        if state != self.state:
            self.state = state
            self._report(self.vm, state)
