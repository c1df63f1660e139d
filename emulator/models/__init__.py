"""Azure's world as plain Python objects: scale set, VMs, extensions, operations, errors.

No JSON and no HTTP here; emulator/responses renders these objects as ARM resources.
"""

from emulator.models.errors import ArmError
from emulator.models.extension import Extension
from emulator.models.operations import Operation
from emulator.models.scale_set import ScaleSet
from emulator.models.vm import VirtualMachine
from emulator.models.world import World

__all__ = ["ArmError", "Extension", "Operation", "ScaleSet", "VirtualMachine", "World"]
