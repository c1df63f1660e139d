"""VM extension changes (PUT, PATCH, DELETE): long-running operations that do not hold the VM.

The new settings apply when the operation completes (`extension_updated` truth event), which is
when the data plane reloads the Application Health extension's prober.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from emulator.models.errors import InvalidParameter, ResourceNotFound
from emulator.models.extension import Extension
from emulator.models.operations import Operation
from emulator.models.power_states import PowerStateMachine
from emulator.models.vm import RESOURCE_TYPE, VirtualMachine

EXTENSIONS = f"{RESOURCE_TYPE}/extensions"


class ExtensionChanges(PowerStateMachine):
    """Extension operations on the world's VMs; mixed into World."""

    def get_vm(self, resource_group: str, name: str) -> VirtualMachine:
        raise NotImplementedError  # provided by World

    def extension(self, resource_group: str, vm_name: str, ext_name: str) -> Extension:
        vm = self.get_vm(resource_group, vm_name)
        ext = vm.extensions.get(ext_name)
        if ext is None:
            raise ResourceNotFound.in_group(EXTENSIONS, f"{vm.name}/{ext_name}", resource_group)
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
            raise ResourceNotFound.in_group(EXTENSIONS, f"{vm.name}/{ext_name}", "")
        if current is not None and current.busy:
            raise self._in_progress(vm, operation)
        for key in ("publisher", "type", "type_handler_version"):
            if current is None and not fields.get(key):
                raise InvalidParameter(f"Required parameter '{key}' is missing (null).")
        if current is not None:
            current.busy = True
            current.provisioning_state = "Updating"

        def apply() -> object:
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
            return (vm, ext)  # the operation's result: the Location answers with it

        return self._launch_side(vm, operation, apply), current is None

    def begin_delete_extension(self, vm_name: str, ext_name: str) -> Operation:
        vm = self._existing(vm_name)
        ext = vm.extensions.get(ext_name)
        if ext is None:
            raise ResourceNotFound.in_group(EXTENSIONS, f"{vm.name}/{ext_name}", "")
        if ext.busy:
            raise self._in_progress(vm, "extensions.delete")
        ext.busy = True
        ext.provisioning_state = "Deleting"

        def apply() -> object:
            vm.extensions.pop(ext_name, None)
            if not self._health_external and vm.health_extension() is None:
                vm.health_state = None
            self.truth.record("extension_updated", vm.name, extension=ext_name, deleted=True)
            return None

        return self._launch_side(vm, "extensions.delete", apply)

    def _launch_side(self, vm: VirtualMachine, name: str, apply: Callable[[], object]) -> Operation:
        """An operation that does not hold the VM: `apply` runs after `extension` seconds."""
        op = self._accept(vm, name, self._t.extension)

        async def run() -> None:
            try:
                await self.clock.sleep(self._t.extension)
                op.output = apply()
            except asyncio.CancelledError:
                self._canceled(op)
                raise
            self._complete(op)

        self._spawn(run())
        return op
