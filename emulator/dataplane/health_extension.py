"""The Application Health extension running in one VM's guest: Binary (handler 1.0) or Rich
(2.0) health states, as the topology or the extension's typeHandlerVersion says.

(docs/azure-behaviour.md §3; the state machine is that of Azure's handler,
Azure/applicationhealth-extension-linux `main/cmds.go`.) In the guest the extension probes the
VM's own app every `intervalInSeconds` platform seconds (between probe starts) with a timeout of
30 s (the handler's HTTP client and TCP dial timeout):
- Binary: HTTP(S) `GET requestPath` where only 200 is Healthy, anything else Unhealthy; TCP: a
  completed handshake is Healthy. States: Healthy, Unhealthy only.
- Rich: HTTP(S) needs a 2xx answer whose JSON body says `{"ApplicationHealthState": "Healthy"}`
  or `"Unhealthy"`; anything else (non-2xx, timeout, unreachable, no such body) is Unknown. TCP
  as Binary. The handler starts Initializing and stays so for `gracePeriod` (default interval x
  numberOfProbes) unless numberOfProbes consecutive valid results come first; when the grace
  expires the state is Unknown (HTTP) or Unhealthy (TCP).
The first result is committed at once; after that `numberOfProbes` consecutive identical results
are needed to change the state. It runs only while the VM runs: when the VM leaves running it
stops (a stopped VM sends no signal, and the data plane clears its vmHealth); a settings change
restarts it.

This signal is independent of the load balancer's probe: a broken extension can make a VM
Unhealthy while the load balancer keeps routing to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from emulator.clock import Clock
from emulator.dataplane.http_check import http_get, tcp_connects

HealthState = Literal["Healthy", "Unhealthy", "Initializing", "Unknown"]
PROBE_TIMEOUT_PLATFORM_S = 30.0  # main/health.go: http.Client Timeout and net.DialTimeout
MAX_GRACE_PERIOD_S = 14400
USER_AGENT = "ApplicationHealthExtension/1.0"


@dataclass(frozen=True)
class ExtensionSettings:
    """The extension's public settings (JSON names in ARM: protocol, port, requestPath,
    intervalInSeconds, numberOfProbes, gracePeriod), with Azure's defaults and bounds applied;
    `rich` from the typeHandlerVersion (2.x = Rich health states)."""

    protocol: str = "http"
    port: int = 80
    request_path: str = "/"
    interval_in_seconds: float = 5.0
    number_of_probes: int = 1
    rich: bool = False
    grace_period_s: float = 0.0  # Rich only (0 for Binary)

    @classmethod
    def from_arm(
        cls, settings: dict[str, Any] | None, app_port: int, handler_version: str = "1.0"
    ) -> ExtensionSettings:
        """Read ARM settings; a missing port means the app port, out-of-range values are
        clamped to Azure's bounds (interval 5-60 s, probes 1-24, grace up to 14400 s)."""
        settings = settings or {}
        protocol = str(settings.get("protocol", "http")).lower()
        port = settings.get("port")
        interval = float(min(60, max(5, _number(settings.get("intervalInSeconds", 5), 5))))
        probes = int(min(24, max(1, _number(settings.get("numberOfProbes", 1), 1))))
        rich = str(handler_version).strip().startswith("2")
        grace = _number(settings.get("gracePeriod"), 0)
        grace = float(min(MAX_GRACE_PERIOD_S, grace if grace > 0 else interval * probes))
        return cls(
            protocol=protocol,
            port=int(port) if str(port).isdigit() and int(port) > 0 else app_port,
            request_path=str(settings.get("requestPath") or "/"),
            interval_in_seconds=interval,
            number_of_probes=probes,
            rich=rich,
            grace_period_s=grace if rich else 0.0,
        )

    @property
    def timeout_platform_s(self) -> float:
        return PROBE_TIMEOUT_PLATFORM_S

    @property
    def after_grace(self) -> HealthState:
        """The state when the grace period expires before a valid result: Unknown for HTTP(S),
        Unhealthy for TCP (which has no Unknown)."""
        return "Unhealthy" if self.protocol == "tcp" else "Unknown"


def _number(value: Any, default: float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def rich_state(status: int | None, body: bytes) -> HealthState:
    """A Rich-health HTTP answer: 2xx with a JSON body naming Healthy or Unhealthy, else Unknown."""
    if status is None or not 200 <= status <= 299:
        return "Unknown"
    try:
        data = json.loads(body)
    except ValueError:
        return "Unknown"
    if not isinstance(data, dict):
        return "Unknown"
    value = next((v for k, v in data.items() if k.lower() == "applicationhealthstate"), None)
    return value if value in ("Healthy", "Unhealthy") else "Unknown"


async def probe_app(host: str, settings: ExtensionSettings, clock: Clock) -> HealthState:
    """One in-guest probe: what this result says (before the state machine)."""
    timeout = clock.wall(settings.timeout_platform_s)
    if settings.protocol == "tcp":
        return "Healthy" if await tcp_connects(host, settings.port, timeout) else "Unhealthy"
    if settings.protocol not in ("http", "https"):
        return "Unhealthy"  # a protocol the handler does not know
    status, body = await http_get(
        host,
        settings.port,
        settings.request_path,
        timeout,
        tls=settings.protocol == "https",
        user_agent=USER_AGENT,
    )
    if settings.rich:
        return rich_state(status, body)
    return "Healthy" if status == 200 else "Unhealthy"


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
        """Start the handler (a new process: no committed state until its first probe).

        `initial` = Healthy/Unhealthy continues from a known state without reporting it (the
        emulator's initial fleet, which has been running before the emulator started)."""
        if self._task is None:
            known = initial in ("Healthy", "Unhealthy")
            if known:
                self.state = initial  # type: ignore[assignment]
            # a known state (the initial fleet): start at a random phase, not all at once
            delay = self._wall_interval() * random.random() if known else 0.0
            self._task = asyncio.get_running_loop().create_task(self._run(delay, known))

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

    async def _run(self, delay: float, known: bool = False) -> None:
        """The handler's loop (main/cmds.go `enable`): commit the first result at once, then a
        change needs numberOfProbes consecutive identical results; Rich honours the grace period
        (Initializing) unless the state was already known."""
        await asyncio.sleep(delay)
        settings = self.settings
        wanted = settings.number_of_probes
        previous: HealthState | None = self.state if known else None
        consecutive = 0
        committed: HealthState | None = self.state if known else None
        honor_grace = settings.rich and not known
        grace_wall = self._clock.wall(settings.grace_period_s)
        grace_start = time.monotonic()
        while True:
            began = time.monotonic()
            state = await probe_app(self.host, settings, self._clock)
            self.probes += 1
            if state == previous:
                consecutive += 1
            else:
                consecutive, previous = 1, state
            if honor_grace:
                if time.monotonic() - grace_start >= grace_wall:
                    honor_grace = False
                    state = previous = settings.after_grace
                    consecutive, committed = 1, None
                elif consecutive == wanted and state != settings.after_grace:
                    honor_grace = False
                else:
                    state = "Initializing"
            if consecutive == wanted or committed is None:
                if state != committed:
                    committed = state
                    self._set(state)
                if consecutive == wanted:
                    consecutive = 0
            spent = time.monotonic() - began
            await asyncio.sleep(max(0.0, self._wall_interval() - spent))

    def _set(self, state: HealthState) -> None:
        if state != self.state:
            self.state = state
            self._report(self.vm, state)
