"""Azure's world as the emulator sees it: one scale set, its VMs, their operations.

Every change of state goes through this object so that the HTTP routes, Spot eviction, the
Chaos Studio executor and the repairs component share one power-state machine
(docs/azure-behaviour.md §2.3) and one truth record. World holds the VM registry and health;
the behaviour lives by concept in power_states.py (lifecycle operations and their engine),
extension_changes.py and spot_eviction.py. Durations are platform seconds slept on the Clock;
validation errors are raised as named ARM errors (errors.py) before anything changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import random
import uuid
from collections.abc import Coroutine
from typing import Any

from emulator.clock import Clock
from emulator.models.chaos import ChaosState
from emulator.models.errors import OperationNotAllowed, ResourceNotFound
from emulator.models.extension_changes import ExtensionChanges
from emulator.models.operations import Operation
from emulator.models.rule_health import NetworkOperations
from emulator.models.scale_set import ScaleSet
from emulator.models.spot_eviction import SpotEviction
from emulator.models.vm import RESOURCE_TYPE as VIRTUAL_MACHINES
from emulator.models.vm import VirtualMachine
from emulator.topology import Topology
from emulator.truth import Truth

HEALTH_STATES = ("Healthy", "Unhealthy", "Initializing", "Unknown")


class World(ExtensionChanges, SpotEviction):
    """The scale set, its VMs and the operations running on them."""

    def __init__(
        self,
        topology: Topology,
        clock: Clock | None = None,
        truth: Truth | None = None,
        seed: int | None = None,
    ) -> None:
        self.topology = topology
        self.clock = clock or Clock()
        self.truth = truth or Truth()
        self.scale_set = ScaleSet(topology)
        self.app_port: int = topology.app.port  # the data plane sets it when it picks a port
        self.lb_port: int = 0  # --lb-port, for the data plane (0 = a free port)
        self.operations: dict[str, Operation] = {}
        self._rng = random.Random(seed)
        self._vms: dict[str, VirtualMachine] = {}
        self._names: set[str] = set()
        base = topology.app.address_base
        if base == "auto":
            base = f"127.0.{random.SystemRandom().randint(1, 250)}.1"
        self.address_base: str = base  # the first VM's address
        self._next_address = int(ipaddress.IPv4Address(base))
        self._tasks: set[asyncio.Task[Any]] = set()
        self._health_external = False  # True once the data plane reports health
        self.chaos = ChaosState(self.clock)  # Chaos Studio targets, experiments, executions
        self.network = NetworkOperations()  # the load balancer's health-status queries
        spec = topology.scale_set
        for i in range(spec.vm_count):
            spot = i >= spec.vm_count - spec.spot_count
            zone = spec.zones[i % len(spec.zones)]
            vm = self._new_vm(zone, "Spot" if spot else "Regular", index=i)
            self._enter_running_health(vm)
            self.truth.record(
                "vm_created", vm.name, address=vm.address, zone=vm.zone, priority=vm.priority
            )

    # ----- reading -------------------------------------------------------------------------

    def vms(self) -> list[VirtualMachine]:
        """Every VM of the set, in creation order."""
        return list(self._vms.values())

    def vm(self, name: str) -> VirtualMachine | None:
        """The VM called `name` (case-insensitive, as ARM names are), or None."""
        found = self._vms.get(name)
        if found is None:
            lowered = name.lower()
            found = next((v for v in self._vms.values() if v.name.lower() == lowered), None)
        return found

    def get_vm(self, resource_group: str, name: str) -> VirtualMachine:
        """The VM, or 404 ResourceNotFound as ARM answers for a wrong group or name."""
        vm = self.vm(name) if self.owns_group(resource_group) else None
        if vm is None:
            raise ResourceNotFound.in_group(VIRTUAL_MACHINES, name, resource_group)
        return vm

    def owns_group(self, resource_group: str) -> bool:
        return resource_group.lower() == self.scale_set.resource_group.lower()

    def operation(self, operation_id: str) -> Operation | None:
        return self.operations.get(operation_id)

    # ----- health (reported by the data plane) ---------------------------------------------

    def set_vm_health(self, name: str, state: str | None) -> None:
        """Set vmHealth as the Application Health extension reports it; records health_state."""
        if state is not None and state not in HEALTH_STATES:
            raise ValueError(f"health state must be one of {HEALTH_STATES} or None, got {state}")
        self._health_external = True
        vm = self.vm(name)
        if vm is None or vm.health_state == state:
            return
        vm.health_state = state
        if state is not None:
            self.truth.record("health_state", vm.name, state=state)

    def _enter_running_health(self, vm: VirtualMachine) -> None:
        if not self._health_external and vm.power_state == "running":
            vm.health_state = "Healthy" if vm.health_extension() else None

    # ----- shutdown ------------------------------------------------------------------------

    async def close(self) -> None:
        """Cancel every running operation task (the process is stopping)."""
        await self.chaos.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # ----- the VM registry -------------------------------------------------------------------

    def _new_vm(self, zone: str, priority: str, index: int) -> VirtualMachine:
        name = self._fresh_name()
        ip = ipaddress.IPv4Address(self._next_address)
        if not ip.is_loopback:  # never leave 127.0.0.0/8, however many replacements
            raise OperationNotAllowed(f"no loopback address left for a new VM (next: {ip})")
        address = str(ip)
        self._next_address += 1
        spec = self.topology.scale_set
        vm = VirtualMachine(
            name=name,
            id=self.scale_set.vm_id(name),
            address=address,
            zone=zone,
            fault_domain=(index // len(spec.zones)) % 3,
            priority=priority,
            eviction_policy=spec.spot_eviction_policy if priority == "Spot" else None,
            vm_size=spec.vm_size,
            vm_id=str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
            time_created=self.clock.now(),
            tags=dict(spec.tags),
            extensions=self.scale_set.profile_extensions(),
        )
        self._vms[name] = vm
        return vm

    def _names_issued(self) -> int:
        return len(self._names)

    def _fresh_name(self) -> str:
        for _ in range(1000):
            name = f"{self.scale_set.name}_{self._rng.getrandbits(32):08x}"
            if name not in self._names:
                self._names.add(name)
                return name
        raise RuntimeError("could not find a fresh VM name")  # pragma: no cover

    def _existing(self, name: str) -> VirtualMachine:
        vm = self.vm(name)
        if vm is None:
            raise ResourceNotFound.in_group(VIRTUAL_MACHINES, name, self.scale_set.resource_group)
        return vm

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _remove(self, vm: VirtualMachine) -> None:
        vm.deleted = True
        self._vms.pop(vm.name, None)
        self.truth.record(
            "vm_deleted", vm.name, address=vm.address, zone=vm.zone, priority=vm.priority
        )
