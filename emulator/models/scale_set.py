"""The one scale set the emulator serves: its identity and the topology it was built from."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator.models.errors import PreconditionFailed
from emulator.models.extension import HEALTH_PUBLISHER, HEALTH_TYPE, Extension
from emulator.topology import (
    AppSpec,
    AutomaticRepairsSpec,
    HealthExtensionSpec,
    LoadBalancerSpec,
    TimingsSpec,
    Topology,
)

HEALTH_EXTENSION_NAME = "ApplicationHealthLinux"


@dataclass
class ScaleSet:
    """A Microsoft.Compute/virtualMachineScaleSets resource and its model (from the topology)."""

    topology: Topology
    unique_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time_created: float = field(default_factory=time.time)
    tags: dict[str, str] = field(default_factory=dict)  # from the topology; PATCH changes them
    version: int = 1  # bumped by every update: the resource's ETag

    def __post_init__(self) -> None:
        if not self.tags:
            self.tags = dict(self.topology.scale_set.tags)

    @property
    def etag(self) -> str:
        """The resource's ETag, quoted as Compute sends it; it changes with every update."""
        return f'"{self.version}"'

    def update_tags(self, tags: dict[str, str], if_match: str | None) -> None:
        """PATCH's tags: all of them replaced, only if `if_match` (when sent) is the current
        ETag or `*` (docs/azure-behaviour.md §1.4). No await between check and write: two
        writers with the same ETag cannot both win."""
        if if_match is not None and if_match.strip() not in ("*", self.etag):
            raise PreconditionFailed(
                f"The ETag {if_match} in the If-Match header does not match the current ETag "
                f"{self.etag} of virtual machine scale set '{self.name}'."
            )
        self.tags = dict(tags)
        self.version += 1

    @property
    def name(self) -> str:
        return self.topology.scale_set.name

    @property
    def subscription_id(self) -> str:
        return self.topology.scale_set.subscription_id

    @property
    def resource_group(self) -> str:
        return self.topology.scale_set.resource_group

    @property
    def location(self) -> str:
        return self.topology.scale_set.location

    @property
    def orchestration_mode(self) -> str:
        return self.topology.scale_set.orchestration_mode

    @property
    def health_extension(self) -> HealthExtensionSpec:
        return self.topology.health_extension

    @property
    def automatic_repairs(self) -> AutomaticRepairsSpec:
        return self.topology.automatic_repairs

    @property
    def load_balancer(self) -> LoadBalancerSpec:
        return self.topology.load_balancer

    @property
    def app(self) -> AppSpec:
        return self.topology.app

    @property
    def timings(self) -> TimingsSpec:
        return self.topology.timings

    @property
    def rg_prefix(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"

    @property
    def id(self) -> str:
        return f"{self.rg_prefix}/providers/Microsoft.Compute/virtualMachineScaleSets/{self.name}"

    @property
    def load_balancer_id(self) -> str:
        lb = self.load_balancer.name
        return f"{self.rg_prefix}/providers/Microsoft.Network/loadBalancers/{lb}"

    def vm_id(self, vm_name: str) -> str:
        return f"{self.rg_prefix}/providers/Microsoft.Compute/virtualMachines/{vm_name}"

    def health_extension_settings(self) -> dict[str, Any]:
        """The extension's settings; no "port" key means the app port (topology port = 0)."""
        spec = self.health_extension
        settings: dict[str, Any] = {"protocol": spec.protocol}
        if spec.port:
            settings["port"] = spec.port
        if spec.protocol != "tcp":
            settings["requestPath"] = spec.request_path
        settings["intervalInSeconds"] = spec.interval_in_seconds
        settings["numberOfProbes"] = spec.number_of_probes
        if spec.health_states == "rich" and spec.grace_period:
            settings["gracePeriod"] = spec.grace_period
        return settings

    def profile_extensions(self) -> dict[str, Extension]:
        """The extensions every new VM gets from virtualMachineProfile.extensionProfile."""
        if not self.health_extension.enabled:
            return {}
        return {
            HEALTH_EXTENSION_NAME: Extension(
                name=HEALTH_EXTENSION_NAME,
                publisher=HEALTH_PUBLISHER,
                type=HEALTH_TYPE,
                type_handler_version=self.health_extension.type_handler_version,
                settings=self.health_extension_settings(),
            )
        }
