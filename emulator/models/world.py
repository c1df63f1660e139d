"""Azure's world as the emulator sees it: one scale set, its VMs, their operations.

Every change of state goes through this class so that the HTTP routes, Spot eviction and the
repairs component share one power-state machine (azure-semantics.md §2.3) and one truth record.
Durations are platform seconds slept on the Clock; validation errors are raised as ArmError
before anything changes.
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
from emulator.models.errors import ArmError, not_allowed, not_found
from emulator.models.extension import Extension
from emulator.models.operations import FAILED, SUCCEEDED, Operation
from emulator.models.scale_set import ScaleSet
from emulator.models.vm import VirtualMachine
from emulator.topology import Topology
from emulator.truth import Truth

Step = tuple[str, float]  # (power state entered, platform seconds spent in it)

HEALTH_STATES = ("Healthy", "Unhealthy", "Initializing")


class World:
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
        self.chaos = ChaosState()  # Chaos Studio targets, experiments, executions
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
            raise not_found("virtualMachines", name, resource_group)
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

    # ----- VM lifecycle: routes call begin_*, which validate synchronously -----------------

    def begin_start(self, name: str) -> Operation:
        vm = self._mutable(name, "start")
        if vm.power_state == "running":
            return self._noop(vm, "start")
        return self._launch(vm, "start", [("starting", self._t.start), ("running", 0)])

    def begin_power_off(self, name: str, skip_shutdown: bool = False) -> Operation:
        vm = self._mutable(name, "powerOff")
        if vm.power_state == "stopped":
            return self._noop(vm, "powerOff")
        if vm.power_state == "deallocated":
            raise self._deallocated(vm, "powerOff")
        steps = [("stopping", self._t.power_off), ("stopped", 0.0)]
        return self._launch(vm, "powerOff", steps, graceful=not skip_shutdown)

    def begin_deallocate(self, name: str) -> Operation:
        vm = self._mutable(name, "deallocate")
        if vm.power_state == "deallocated":
            return self._noop(vm, "deallocate")
        steps = [("deallocating", self._t.deallocate), ("deallocated", 0.0)]
        return self._launch(vm, "deallocate", steps, graceful=False)

    def begin_restart(self, name: str) -> Operation:
        vm = self._mutable(name, "restart")
        if vm.power_state != "running":
            raise not_allowed("The operation requires the VM to be running (or set to run).")
        half = self._t.restart / 2
        steps = [("stopping", half), ("starting", half), ("running", 0.0)]
        return self._launch(vm, "restart", steps, graceful=True)

    def begin_redeploy(self, name: str) -> Operation:
        """Redeploy: shut down, move to a new host, power on (ends running)."""
        vm = self._mutable(name, "redeploy")
        if vm.power_state == "deallocated":
            raise self._deallocated(vm, "redeploy")
        third = self._t.redeploy / 3
        steps = [("deallocating", third), ("starting", 2 * third), ("running", 0.0)]
        return self._launch(vm, "redeploy", steps, graceful=False)

    def begin_reimage(self, name: str) -> Operation:
        """Reimage (a choice, Azure unverified): allowed in any state, the VM ends running."""
        vm = self._mutable(name, "reimage")
        half = self._t.reimage / 2
        steps: list[Step] = [("starting", self._t.reimage), ("running", 0.0)]
        if vm.power_state == "running":
            steps = [("stopping", half), ("starting", half), ("running", 0.0)]
        return self._launch(vm, "reimage", steps, graceful=False)

    def begin_delete(self, name: str) -> Operation:
        vm = self._mutable(name, "delete")
        steps: list[Step] = [(vm.power_state, self._t.delete)]
        if vm.power_state != "deallocated":
            steps = [("deallocating", self._t.delete)]
        op = self._launch(vm, "delete", steps, graceful=False, final=self._remove)
        vm.provisioning_state = "Deleting"
        return op

    def simulate_eviction(self, name: str) -> None:
        """Schedule a Spot eviction after the Preempt notice (synchronous 204 in Azure)."""
        vm = self._existing(name)
        if vm.priority != "Spot":
            raise not_allowed(
                f"Operation 'simulateEviction' is not allowed on VM '{vm.name}' since the VM "
                "is not an Azure Spot virtual machine."
            )
        self._check_not_deleting(vm, "simulateEviction")
        if vm.power_state in ("deallocated", "deallocating"):
            raise self._deallocated(vm, "simulateEviction")
        if vm.eviction_not_before is not None:
            return  # already scheduled: one eviction per notice
        vm.eviction_not_before = self.clock.now() + self.clock.wall(self._t.eviction_notice)
        self.truth.record(
            "eviction_scheduled",
            vm.name,
            not_before=vm.eviction_not_before,
            policy=vm.eviction_policy,
        )
        self._spawn(self._evict_after_notice(vm))

    # ----- coroutines for the repairs component --------------------------------------------

    async def restart_vm(self, name: str) -> None:
        """Restart through the state machine and wait for it (ArmError if not allowed now)."""
        await self._await(self.begin_restart(name))

    async def reimage_vm(self, name: str) -> None:
        await self._await(self.begin_reimage(name))

    async def replace_vm(self, name: str) -> str:
        """Delete the VM, then create a new one from the profile in the same zone; its name."""
        old = self._existing(name)
        zone, priority = old.zone, old.priority
        await self._await(self.begin_delete(name))
        new, op = self.begin_create(zone, priority)
        await self._await(op)
        return new.name

    def begin_create(
        self, zone: str, priority: str = "Regular"
    ) -> tuple[VirtualMachine, Operation]:
        """A new VM from the scale set's profile: fresh name and address; starts then runs."""
        vm = self._new_vm(zone, priority, index=len(self._names))
        vm.power_state = "starting"
        vm.provisioning_state = "Creating"
        self.truth.record(
            "vm_created", vm.name, address=vm.address, zone=vm.zone, priority=vm.priority
        )
        self.truth.record(
            "power_state", vm.name, **{"from": None, "to": "starting"}, graceful=False
        )
        op = self._launch(vm, "create", [("starting", self._t.create), ("running", 0.0)])
        vm.provisioning_state = "Creating"
        return vm, op

    # ----- extensions ----------------------------------------------------------------------

    def extension(self, resource_group: str, vm_name: str, ext_name: str) -> Extension:
        vm = self.get_vm(resource_group, vm_name)
        ext = vm.extensions.get(ext_name)
        if ext is None:
            raise not_found("virtualMachines/extensions", f"{vm.name}/{ext_name}", resource_group)
        return ext

    def begin_put_extension(
        self, vm_name: str, ext_name: str, fields: dict[str, Any], merge: bool = False
    ) -> tuple[Operation, bool]:
        """Create or update (merge=True: PATCH) an extension; settings apply at completion.

        Returns the operation and whether the extension is new.
        """
        vm = self._existing(vm_name)
        operation = "extensions.patch" if merge else "extensions.put"
        self._check_not_deleting(vm, operation)
        current = vm.extensions.get(ext_name)
        if current is None and merge:
            raise not_found("virtualMachines/extensions", f"{vm.name}/{ext_name}", "")
        if current is not None and current.busy:
            raise self._in_progress(vm, operation)
        for key in ("publisher", "type", "type_handler_version"):
            if current is None and not fields.get(key):
                raise ArmError(
                    400, "InvalidParameter", f"Required parameter '{key}' is missing (null)."
                )
        if current is not None:
            current.busy = True
            current.provisioning_state = "Updating"

        def apply() -> None:
            ext = vm.extensions.get(ext_name) or Extension(
                name=ext_name,
                publisher=fields["publisher"],
                type=fields["type"],
                type_handler_version=fields["type_handler_version"],
            )
            for key, value in fields.items():
                if value is not None:
                    setattr(ext, key, value)
            ext.busy = False
            ext.provisioning_state = "Succeeded"
            vm.extensions[ext_name] = ext
            self.truth.record("extension_updated", vm.name, extension=ext_name)

        return self._launch_side(vm, operation, apply), current is None

    def begin_delete_extension(self, vm_name: str, ext_name: str) -> Operation:
        vm = self._existing(vm_name)
        ext = vm.extensions.get(ext_name)
        if ext is None:
            raise not_found("virtualMachines/extensions", f"{vm.name}/{ext_name}", "")
        if ext.busy:
            raise self._in_progress(vm, "extensions.delete")
        ext.busy = True
        ext.provisioning_state = "Deleting"

        def apply() -> None:
            vm.extensions.pop(ext_name, None)
            if not self._health_external and vm.health_extension() is None:
                vm.health_state = None
            self.truth.record("extension_updated", vm.name, extension=ext_name, deleted=True)

        return self._launch_side(vm, "extensions.delete", apply)

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

    # ----- internals -----------------------------------------------------------------------

    @property
    def _t(self) -> Any:
        return self.scale_set.timings

    def _new_vm(self, zone: str, priority: str, index: int) -> VirtualMachine:
        name = self._fresh_name()
        ip = ipaddress.IPv4Address(self._next_address)
        if not ip.is_loopback:  # never leave 127.0.0.0/8, however many replacements
            raise ArmError(
                409, "OperationNotAllowed", f"no loopback address left for a new VM (next: {ip})"
            )
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
            raise not_found("virtualMachines", name, self.scale_set.resource_group)
        return vm

    def _check_not_deleting(self, vm: VirtualMachine, operation: str) -> None:
        if vm.provisioning_state == "Deleting":
            raise not_allowed(
                f"Operation '{operation}' is not allowed on VM '{vm.name}' since the VM is "
                "marked for deletion. You can only retry the Delete operation (or wait for an "
                "ongoing one to complete)."
            )

    def _mutable(self, name: str, operation: str) -> VirtualMachine:
        vm = self._existing(name)
        self._check_not_deleting(vm, operation)
        if vm.busy:
            raise self._in_progress(vm, operation)
        return vm

    @staticmethod
    def _in_progress(vm: VirtualMachine, operation: str) -> ArmError:
        return not_allowed(
            f"Operation '{operation}' is not allowed on VM '{vm.name}' since another operation "
            "is in progress."
        )

    @staticmethod
    def _deallocated(vm: VirtualMachine, operation: str) -> ArmError:
        return not_allowed(
            f"Operation '{operation}' is not allowed on VM '{vm.name}' since the VM is either "
            "deallocated or marked to be deallocated."
        )

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _accept(self, vm: VirtualMachine, name: str, platform_seconds: float) -> Operation:
        op = Operation(name, vm.id, vm.name, self.clock.wall(platform_seconds))
        self.operations[op.id] = op
        self.truth.record("operation_accepted", vm.name, operation=name, operation_id=op.id)
        return op

    def _complete(self, op: Operation, status: str = SUCCEEDED, **error: str) -> None:
        op.finish(status, error.get("code"), error.get("message", ""))
        self.truth.record(
            "operation_completed", op.vm, operation=op.name, operation_id=op.id, status=status
        )

    def _noop(self, vm: VirtualMachine, name: str) -> Operation:
        """Start on running, powerOff on stopped, deallocate on deallocated: success, no change."""
        op = self._accept(vm, name, 0.0)
        self._complete(op)
        return op

    def _launch(
        self,
        vm: VirtualMachine,
        name: str,
        steps: list[Step],
        graceful: bool = False,
        final: Any = None,
    ) -> Operation:
        op = self._accept(vm, name, sum(d for _, d in steps))
        vm.operation = op
        vm.provisioning_state = "Updating"
        self._spawn(self._run(vm, op, steps, graceful, final))
        return op

    async def _run(
        self, vm: VirtualMachine, op: Operation, steps: list[Step], graceful: bool, final: Any
    ) -> None:
        try:
            for state, duration in steps:
                self._set_power(vm, state, graceful)
                if duration:
                    await self.clock.sleep(duration)
            vm.provisioning_state = "Succeeded"
            if final is not None:
                final(vm)
        except asyncio.CancelledError:
            self._complete(op, FAILED, code="OperationCanceled", message="emulator stopping")
            raise
        self._complete(op)

    def _launch_side(self, vm: VirtualMachine, name: str, apply: Any) -> Operation:
        """An operation that does not hold the VM (extension changes)."""
        op = self._accept(vm, name, self._t.extension)

        async def run() -> None:
            try:
                await self.clock.sleep(self._t.extension)
                apply()
            except asyncio.CancelledError:
                self._complete(op, FAILED, code="OperationCanceled", message="emulator stopping")
                raise
            self._complete(op)

        self._spawn(run())
        return op

    def _set_power(self, vm: VirtualMachine, state: str, graceful: bool) -> None:
        old = vm.power_state
        if old == state:
            return
        vm.power_state = state
        if old == "running" and not self._health_external:
            vm.health_state = None
        self.truth.record(
            "power_state",
            vm.name,
            **{"from": old, "to": state},
            graceful=old == "running" and graceful,
        )
        if state == "running":
            self._enter_running_health(vm)

    def _remove(self, vm: VirtualMachine) -> None:
        vm.deleted = True
        self._vms.pop(vm.name, None)
        self.truth.record(
            "vm_deleted", vm.name, address=vm.address, zone=vm.zone, priority=vm.priority
        )

    async def _await(self, op: Operation) -> None:
        await op.done.wait()
        if op.status != SUCCEEDED:
            raise ArmError(500, op.error_code or "InternalError", op.error_message or op.status)

    async def _evict_after_notice(self, vm: VirtualMachine) -> None:
        # Event-loop timers may fire a little early: never evict before the notice's NotBefore.
        while (remaining := (vm.eviction_not_before or 0) - self.clock.now()) > 0:
            await asyncio.sleep(remaining + 0.001)
        while vm.busy and vm.operation is not None:
            await vm.operation.done.wait()
        vm.eviction_not_before = None
        if vm.deleted or vm.power_state == "deallocated":
            return
        self.truth.record("evicted", vm.name, policy=vm.eviction_policy)
        if vm.eviction_policy == "Delete":
            op = self._accept(vm, "evict", self._t.delete)
            vm.operation = op
            vm.provisioning_state = "Deleting"
            await self._run(vm, op, [("deallocating", self._t.delete)], False, self._remove)
        else:
            op = self._accept(vm, "evict", self._t.deallocate)
            vm.operation = op
            vm.provisioning_state = "Updating"
            steps = [("deallocating", self._t.deallocate), ("deallocated", 0.0)]
            await self._run(vm, op, steps, False, None)
