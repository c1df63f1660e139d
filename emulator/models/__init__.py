"""Azure's world as plain Python objects (moto's "models"): the scale set, its VMs and their
power-state machine, extensions, Spot eviction, long-running operations, Chaos Studio
(emulator.models.chaos) and the named errors they raise (errors.py).

No JSON rendering and no HTTP here: emulator/responses renders these objects as ARM resources,
and the server routes requests to it (emulator/urls.py).
"""

from emulator.models.errors import ArmError
from emulator.models.extension import Extension
from emulator.models.operations import Operation
from emulator.models.scale_set import ScaleSet
from emulator.models.vm import VirtualMachine
from emulator.models.world import World

__all__ = ["ArmError", "Extension", "Operation", "ScaleSet", "VirtualMachine", "World"]
