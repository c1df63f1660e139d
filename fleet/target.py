"""One fleet: which scale set (subscription, resource group, name) and how to reach it.

A target is either the built-in emulator (static token over http, fast polling) or Azure
(DefaultAzureCredential). Both reach Resource Manager through the same SDK clients; the kind
matters only to the guard (the allow tag is required on Azure) and to polling intervals.
The target serialises to a plain dict so that the journal can rebuild it with no other input.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, Protocol

from fleet.clients import AZURE_PUBLIC_ARM, Clients, Endpoint

TargetKind = Literal["emulator", "azure"]
DEFAULT_ALLOW_TAG = ("chaos", "allowed")

COMPUTE = "Microsoft.Compute"
EMULATOR_TIME_SCALE = 0.05  # the emulator's default, for a journal that did not record it
VM_POLL_PLATFORM_S = 5.0
MIN_POLL_S = 0.02


class EmulatorDetails(Protocol):
    """The fields of the emulator's ready line that a target needs (e.g. EmulatorInfo)."""

    arm_url: str
    token: str
    subscription_id: str
    resource_group: str
    scale_set: str
    load_balancer: str | None


@dataclass(frozen=True)
class FleetTarget:
    """A Flexible scale set and the endpoint that serves it."""

    endpoint: Endpoint
    subscription_id: str
    resource_group: str
    scale_set: str
    load_balancer: str | None = None
    allow_tag: tuple[str, str] | None = DEFAULT_ALLOW_TAG
    kind: TargetKind = "azure"
    # Wall seconds per platform second (the emulator's clock; 1.0 on Azure): how long a
    # platform delay, e.g. a Spot eviction's notice, takes on this fleet's clock.
    time_scale: float = 1.0

    @classmethod
    def from_emulator(cls, info: EmulatorDetails, **overrides: Any) -> FleetTarget:
        """The emulator's default fleet, from its ready JSON (EmulatorInfo or alike)."""
        values: dict[str, Any] = {
            "endpoint": Endpoint(info.arm_url, emulator_token=info.token),
            "subscription_id": info.subscription_id,
            "resource_group": info.resource_group,
            "scale_set": info.scale_set,
            "load_balancer": getattr(info, "load_balancer", None),
            "kind": "emulator",
            "time_scale": float(getattr(info, "time_scale", EMULATOR_TIME_SCALE)),
        }
        values.update(overrides)
        return cls(**values)

    @classmethod
    def azure(
        cls,
        subscription_id: str,
        resource_group: str,
        scale_set: str,
        *,
        load_balancer: str | None = None,
        allow_tag: tuple[str, str] | None = DEFAULT_ALLOW_TAG,
        arm_url: str = AZURE_PUBLIC_ARM,
        audience: str | None = None,
    ) -> FleetTarget:
        return cls(
            Endpoint(arm_url, audience=audience),
            subscription_id,
            resource_group,
            scale_set,
            load_balancer=load_balancer,
            allow_tag=allow_tag,
            kind="azure",
        )

    @cached_property
    def clients(self) -> Clients:
        return Clients(self.endpoint, self.subscription_id)

    @property
    def poll_interval_s(self) -> float:
        """How often to re-read a VM while waiting (wall): every 5 platform seconds, within
        Compute's per-VM read budget (12 a minute, fleet/budget.py) on Azure and the emulator."""
        return max(MIN_POLL_S, VM_POLL_PLATFORM_S * self.time_scale)

    @property
    def scale_set_id(self) -> str:
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{COMPUTE}/virtualMachineScaleSets/{self.scale_set}"
        )

    def describe(self) -> str:
        return (
            f"scale set '{self.scale_set}' in resource group '{self.resource_group}' "
            f"({self.kind}, {self.endpoint.arm_url})"
        )

    def to_json(self) -> dict[str, Any]:
        """Everything needed to reach this fleet again (written into every journal entry)."""
        return {
            "kind": self.kind,
            "arm_url": self.endpoint.arm_url,
            "emulator_token": self.endpoint.emulator_token,
            "audience": self.endpoint.audience,
            "subscription_id": self.subscription_id,
            "resource_group": self.resource_group,
            "scale_set": self.scale_set,
            "load_balancer": self.load_balancer,
            "allow_tag": list(self.allow_tag) if self.allow_tag else None,
            "time_scale": self.time_scale,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FleetTarget:
        tag = data.get("allow_tag")
        return cls(
            endpoint=Endpoint(
                data["arm_url"],
                emulator_token=data.get("emulator_token"),
                audience=data.get("audience"),
            ),
            subscription_id=data["subscription_id"],
            resource_group=data["resource_group"],
            scale_set=data["scale_set"],
            load_balancer=data.get("load_balancer"),
            allow_tag=(str(tag[0]), str(tag[1])) if tag else None,
            kind=data.get("kind", "azure"),
            time_scale=float(
                data.get(
                    "time_scale", 1.0 if data.get("kind") != "emulator" else EMULATOR_TIME_SCALE
                )
            ),
        )
