"""A VM extension resource (Microsoft.Compute/virtualMachines/extensions) as stored per VM."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

HEALTH_PUBLISHER = "Microsoft.ManagedServices"
HEALTH_TYPE = "ApplicationHealthLinux"


@dataclass
class Extension:
    """Name, handler and settings; `settings` is what the in-guest handler reads."""

    name: str
    publisher: str
    type: str
    type_handler_version: str
    settings: dict[str, Any] = field(default_factory=dict)
    auto_upgrade_minor_version: bool = True
    provisioning_state: str = "Succeeded"
    busy: bool = False  # an operation on this extension is in progress

    @property
    def is_health_extension(self) -> bool:
        return self.publisher == HEALTH_PUBLISHER and self.type.startswith("ApplicationHealth")
