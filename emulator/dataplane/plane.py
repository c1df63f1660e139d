"""The data plane of one emulated world: every VM's app, the load balancer and the health
extensions, driven by the world's ground-truth facts.

The control plane (emulator.models.World) changes power states and records facts; this class
subscribes to them and makes the network follow: a VM entering `running` starts serving and its
extension starts probing; a VM leaving `running` stops serving (gracefully for a guest shutdown:
power off, deallocate, restart, redeploy; abruptly for skipShutdown, eviction, deletion,
reimage); created VMs join the load balancer's pool and deleted ones leave it. Facts for one VM
are applied in order.

Reachability follows the guest: while a graceful shutdown runs the guest's network stack still
answers, so new flows are refused (RST); once the guest is gone (after the shutdown, at once for
an abrupt stop, while a VM boots) nothing answers and the load balancer black-holes new flows to
it (`LoadBalancer.set_blackholed`), unless the topology asks for refusal.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import defaultdict
from typing import Any

from emulator.dataplane.health_extension import (
    ExtensionSettings,
    HealthExtensionProber,
    HealthState,
)
from emulator.dataplane.lb_probe import MAX_PROBES_PER_S, ProbeSettings
from emulator.dataplane.load_balancer import LoadBalancer
from emulator.dataplane.vm_app import VmApp
from emulator.models import VirtualMachine, World
from emulator.truth import TruthEvent
from flexchaos.errors import FlexchaosError

NOT_PROBED_STATES = ("stopped", "deallocated")  # Azure's LB does not probe these
READY_TIMEOUT_S = 5.0
log = logging.getLogger("emulator.dataplane")


def free_port(host: str) -> int:
    """A TCP port free on `host` now (the app port used on every VM address)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class DataPlane:
    """VM apps, extension probers and the load balancer of one world."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.clock = world.clock
        self.truth = world.truth
        self.apps: dict[str, VmApp] = {}
        self.probers: dict[str, HealthExtensionProber] = {}
        self.app_healthy: dict[str, bool] = {}  # POST /_emulator/vms/{vm}/app, kept across restarts
        self.lb: LoadBalancer | None = None
        self._shutting_down: set[str] = set()  # VMs whose guest is in a graceful shutdown
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False

    @property
    def app_port(self) -> int:
        return self.world.app_port

    @property
    def frontend_port(self) -> int | None:
        """The load balancer's frontend port once it listens (None before the plane starts)."""
        return self.lb.port if self.lb is not None else None

    # --- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> dict[str, Any]:
        """Serve every running VM, start the load balancer; returns {"lb_url": ...} once the
        running VMs are in rotation (at once for the initial fleet; bounded wait).
        A port that cannot be bound raises FlexchaosError naming it and what to do."""
        world = self.world
        if not world.app_port:
            world.app_port = free_port(world.address_base)
        spec = world.scale_set.load_balancer
        probe = ProbeSettings(
            port=self.app_port,
            protocol=spec.probe_protocol,  # type: ignore[arg-type]
            request_path=spec.probe_path if spec.probe_protocol != "Tcp" else None,
            interval_in_seconds=spec.probe_interval_in_seconds,
            probe_threshold=spec.probe_threshold,
        )
        self.lb = LoadBalancer(
            probe,
            self.clock,
            self.truth,
            port=getattr(world, "lb_port", 0),
            blackhole=spec.stopped_vm_flows == "blackhole",
        )
        for vm in world.vms():  # the initial fleet has been in rotation: its members start up
            self.lb.add_backend(vm.name, vm.address, self.app_port, vm.power_state == "running")
            self.lb.set_probed(vm.name, vm.power_state not in NOT_PROBED_STATES)
            self.lb.set_blackholed(vm.name, vm.power_state != "running")
            if vm.power_state == "running":
                try:
                    await self._app_up(vm, initial_health=vm.health_state)
                except OSError as exc:
                    raise FlexchaosError(
                        f"cannot serve VM {vm.name}'s app on {vm.address}:{self.app_port} "
                        f"({exc.strerror}); set [app] port = 0 in the topology or free that port"
                    ) from None
        self.truth.subscribe(self._on_fact)
        try:
            await self.lb.start()
        except OSError as exc:
            raise FlexchaosError(
                f"cannot listen on 127.0.0.1:{self.lb.port} for the load balancer "
                f"({exc.strerror}); choose another --lb-port, or 0 for a free one"
            ) from None
        deadline = asyncio.get_running_loop().time() + READY_TIMEOUT_S
        running = {vm.name for vm in world.vms() if vm.power_state == "running"}
        while asyncio.get_running_loop().time() < deadline and not all(
            b.up for b in self.lb.backends if b.vm in running
        ):
            await asyncio.sleep(0.01)
        return {"lb_url": self.lb.url}

    async def stop(self) -> None:
        self._stopping = True
        for task in list(self._tasks):
            task.cancel()
        for prober in self.probers.values():
            await prober.stop()
        if self.lb is not None:
            await self.lb.stop()
        for app in self.apps.values():
            await app.stop(graceful=False)

    # --- facts -----------------------------------------------------------------------------------
    def _on_fact(self, event: TruthEvent) -> None:
        """Truth listener (synchronous): queue the reaction, in order per VM."""
        if self._stopping or event.vm is None:
            return
        if event.kind in ("power_state", "vm_created", "vm_deleted", "extension_updated"):
            task = asyncio.get_running_loop().create_task(self._apply(event))
            self._tasks.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("data plane: reacting to a fact failed", exc_info=task.exception())

    async def _apply(self, event: TruthEvent) -> None:
        name = event.vm
        assert name is not None and self.lb is not None
        async with self._locks[name]:
            details = event.details
            if event.kind == "vm_created":
                self.lb.add_backend(name, details["address"], self.app_port)
                self.lb.set_blackholed(name, True)  # booting: nothing answers yet
            elif event.kind == "vm_deleted":
                await self._app_down(name, graceful=False)
                await self.lb.remove_backend(name)
                self.apps.pop(name, None)
                self.probers.pop(name, None)
                self.app_healthy.pop(name, None)
                self._shutting_down.discard(name)
            elif event.kind == "power_state":
                to, was = details.get("to"), details.get("from")
                self.lb.set_probed(name, to not in NOT_PROBED_STATES)
                self._shutting_down.discard(name)  # a guest shutdown ends with its step
                if was == "running" and to != "running":
                    graceful = bool(details.get("graceful"))
                    if graceful:
                        self._shutting_down.add(name)
                    self.lb.set_blackholed(name, not graceful)
                    await self._app_down(name, graceful=graceful, to=str(to))
                if to == "running":
                    vm = self.world.vm(name)
                    if vm is not None and vm.power_state == "running":
                        await self._app_up(vm)
                        self.lb.set_blackholed(name, False)
                else:
                    self.lb.set_blackholed(name, name not in self._shutting_down)
            elif event.kind == "extension_updated":
                await self._reload_extension(name)

    # --- one VM ----------------------------------------------------------------------------------
    async def _app_up(self, vm: VirtualMachine, initial_health: str | None = None) -> None:
        app = self.apps.get(vm.name)
        if app is None:
            app = self.apps[vm.name] = VmApp(vm.name, vm.address, self.app_port)
        app.healthy = self.app_healthy.get(vm.name, True)
        if not app.running:
            await app.start()
            self.truth.record("app_up", vm.name, address=vm.address)
        settings = self._extension_settings(vm)
        if settings is not None:
            prober = HealthExtensionProber(
                vm.name, vm.address, settings, self.clock, self._report, self._probe_pace
            )
            old = self.probers.get(vm.name)
            if old is not None:
                await old.stop()
            self.probers[vm.name] = prober
            prober.start(initial=initial_health)

    async def _app_down(self, name: str, graceful: bool, to: str = "stopping") -> None:
        prober = self.probers.get(name)
        if prober is not None:
            await prober.stop()  # a VM that is not running sends no health signal:
            if self.world.vm(name) is not None:  # its instance view shows no vmHealth
                self.world.set_vm_health(name, None)
        app = self.apps.get(name)
        if app is not None and app.running:
            mode = "graceful" if graceful else "abrupt"
            # the OS shutdown bounds the drain: the duration of the step that stops the VM
            timings = self.world.scale_set.timings
            step = timings.deallocate if to == "deallocating" else timings.power_off
            drain = max(0.05, self.clock.wall(step))
            # recorded as it stops accepting (and resets connections, if abrupt)
            self.truth.record("app_down", name, address=app.host, mode=mode)
            await app.stop(graceful=graceful, drain_timeout=drain)

    async def _reload_extension(self, name: str) -> None:
        vm = self.world.vm(name)
        if vm is None:
            return
        settings = self._extension_settings(vm)
        prober = self.probers.get(name)
        if settings is None:
            if prober is not None:
                await prober.stop()
                del self.probers[name]
            self.world.set_vm_health(name, None)  # no extension, no vmHealth
            return
        if prober is not None:
            if settings != prober.settings:  # another extension changed: the handler goes on
                await prober.reload(settings)
        elif vm.power_state == "running":
            prober = HealthExtensionProber(
                name, vm.address, settings, self.clock, self._report, self._probe_pace
            )
            self.probers[name] = prober
            prober.start()

    def _extension_settings(self, vm: VirtualMachine) -> ExtensionSettings | None:
        extension = vm.health_extension()
        if extension is None:
            return None
        return ExtensionSettings.from_arm(
            extension.settings, self.app_port, extension.type_handler_version
        )

    def _probe_pace(self) -> float:
        """Extensions together probe at most MAX_PROBES_PER_S times a second."""
        return len(self.probers) / MAX_PROBES_PER_S

    def _report(self, vm: str, state: HealthState) -> None:
        if self.world.vm(vm) is not None:
            self.world.set_vm_health(vm, state)  # records health_state in the truth

    # --- emulator-only routes --------------------------------------------------------------------
    def app_state(self, name: str) -> dict[str, Any]:
        app = self.apps.get(name)
        return {
            "vm": name,
            "healthy": self.app_healthy.get(name, True),
            "serving": app is not None and app.running,
            "connections": app.connections if app is not None else 0,
            "in_flight": app.in_flight if app is not None else 0,
        }

    def set_app_health(self, name: str, healthy: bool) -> dict[str, Any]:
        self.app_healthy[name] = healthy
        app = self.apps.get(name)
        if app is not None:
            app.healthy = healthy
        return {"vm": name, "healthy": healthy, "serving": app is not None and app.running}
