"""The VM power-state machine (docs/azure-behaviour.md §2.3) and the engine that runs its
operations: one operation at a time per VM, each a list of (power state, platform seconds)
steps slept on the Clock, every transition recorded as a `power_state` truth event.

Routes, the Chaos Studio executor and automatic repairs all call `begin_*` here, so they share
one state machine. `begin_*` validate synchronously (raising OperationNotAllowed or
ResourceNotFound before anything changes) and return the accepted Operation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from emulator.clock import Clock
from emulator.models.errors import OperationCanceled, OperationNotAllowed, OperationPreempted
from emulator.models.operations import Operation
from emulator.models.scale_set import ScaleSet
from emulator.models.vm import VirtualMachine
from emulator.topology import TimingsSpec
from emulator.truth import Truth

Step = tuple[str, float]  # (power state entered, platform seconds spent in it)
Final = Callable[[VirtualMachine], None]


class PowerStateMachine:
    """VM lifecycle operations; mixed into World, which provides the VMs and the clock."""

    # ----- provided by World ----------------------------------------------------------------
    clock: Clock
    truth: Truth
    scale_set: ScaleSet
    operations: dict[str, Operation]
    _health_external: bool

    def _existing(self, name: str) -> VirtualMachine:
        raise NotImplementedError

    def _new_vm(self, zone: str, priority: str, index: int) -> VirtualMachine:
        raise NotImplementedError

    def _names_issued(self) -> int:
        raise NotImplementedError

    def _enter_running_health(self, vm: VirtualMachine) -> None:
        raise NotImplementedError

    def _remove(self, vm: VirtualMachine) -> None:
        raise NotImplementedError

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        raise NotImplementedError

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
        # a guest shutdown, like powerOff without skipShutdown (docs/azure-behaviour.md §2.3)
        return self._launch(vm, "deallocate", steps, graceful=True)

    def begin_restart(self, name: str) -> Operation:
        vm = self._mutable(name, "restart")
        if vm.power_state != "running":
            raise OperationNotAllowed(
                "The operation requires the VM to be running (or set to run)."
            )
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
        return self._launch(vm, "redeploy", steps, graceful=True)  # Azure shuts the guest down

    def begin_reimage(self, name: str) -> Operation:
        """Reimage (a choice, Azure unverified): allowed in any state, the VM ends running."""
        vm = self._mutable(name, "reimage")
        half = self._t.reimage / 2
        steps: list[Step] = [("starting", self._t.reimage), ("running", 0.0)]
        if vm.power_state == "running":
            steps = [("stopping", half), ("starting", half), ("running", 0.0)]
        return self._launch(vm, "reimage", steps, graceful=False)

    def begin_delete(self, name: str) -> Operation:
        """Delete; a running operation on the VM is preempted (docs/azure-behaviour.md §2.6)."""
        vm = self._existing(name)
        self._check_not_deleting(vm, "delete")
        if vm.busy:
            self._preempt(vm)
        steps: list[Step] = [(vm.power_state, self._t.delete)]
        if vm.power_state != "deallocated":
            steps = [("deallocating", self._t.delete)]
        op = self._launch(vm, "delete", steps, graceful=False, final=self._remove)
        vm.provisioning_state = "Deleting"
        return op

    def begin_create(
        self, zone: str, priority: str = "Regular"
    ) -> tuple[VirtualMachine, Operation]:
        """A new VM from the scale set's profile: fresh name and address; starts then runs."""
        vm = self._new_vm(zone, priority, index=self._names_issued())
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

    # ----- coroutines for the repairs component --------------------------------------------

    async def restart_vm(self, name: str) -> None:
        """Restart through the state machine and wait for it (ArmError if not allowed now)."""
        await self._await(self.begin_restart(name))

    async def reimage_vm(self, name: str) -> None:
        await self._await(self.begin_reimage(name))

    async def replace_vm(self, name: str) -> str:
        """Delete the VM and create a new one from the profile in the same zone, in parallel
        (Azure's Replace does not wait for the deletion: docs/azure-behaviour.md §3.4); the new
        VM's name once both are done."""
        old = self._existing(name)
        zone, priority = old.zone, old.priority
        deleting = self.begin_delete(name)
        new, creating = self.begin_create(zone, priority)
        await asyncio.gather(self._await(deleting), self._await(creating))
        return new.name

    # ----- validation ----------------------------------------------------------------------

    @property
    def _t(self) -> TimingsSpec:
        return self.scale_set.timings

    def _check_not_deleting(self, vm: VirtualMachine, operation: str) -> None:
        if vm.provisioning_state == "Deleting":
            raise OperationNotAllowed(
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
    def _in_progress(vm: VirtualMachine, operation: str) -> OperationNotAllowed:
        return OperationNotAllowed(
            f"Operation '{operation}' is not allowed on VM '{vm.name}' since another operation "
            "is in progress."
        )

    @staticmethod
    def _deallocated(vm: VirtualMachine, operation: str) -> OperationNotAllowed:
        return OperationNotAllowed(
            f"Operation '{operation}' is not allowed on VM '{vm.name}' since the VM is either "
            "deallocated or marked to be deallocated."
        )

    # ----- the engine ----------------------------------------------------------------------

    def _accept(self, vm: VirtualMachine, name: str, platform_seconds: float) -> Operation:
        op = Operation(name, vm.id, vm.name, self.clock.wall(platform_seconds))
        self.operations[op.id] = op
        self.truth.record("operation_accepted", vm.name, operation=name, operation_id=op.id)
        return op

    def _complete(self, op: Operation, error: OperationCanceled | None = None) -> None:
        op.finish(error)
        self.truth.record(
            "operation_completed", op.vm, operation=op.name, operation_id=op.id, status=op.status
        )

    def _preempt(self, vm: VirtualMachine) -> None:
        """End the VM's running operation as Azure ends one superseded by a later operation:
        status Canceled, error OperationPreempted; the state it reached stays."""
        op = vm.operation
        assert op is not None
        if op.task is not None:
            op.task.cancel()
        message = "Operation execution has been preempted by a more recent operation."
        op.finish(OperationPreempted(message), canceled=True)
        self.truth.record(
            "operation_completed", op.vm, operation=op.name, operation_id=op.id, status=op.status
        )

    def _canceled(self, op: Operation) -> None:
        """The emulator is stopping: the operation ends Failed."""
        self._complete(op, OperationCanceled("emulator stopping"))

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
        final: Final | None = None,
    ) -> Operation:
        op = self._accept(vm, name, sum(d for _, d in steps))
        vm.operation = op
        vm.provisioning_state = "Updating"
        op.task = self._spawn(self._run(vm, op, steps, graceful, final))
        return op

    async def _run(
        self,
        vm: VirtualMachine,
        op: Operation,
        steps: list[Step],
        graceful: bool,
        final: Final | None,
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
            if not op.finished:  # a preempted operation has already ended
                self._canceled(op)
            raise
        self._complete(op)

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

    async def _await(self, op: Operation) -> None:
        """Wait for the operation; raise its error if it failed."""
        await op.result()
