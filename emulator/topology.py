"""The emulated fleet's shape, read from a TOML file (every key optional; see docs/internals.md).

A malformed file raises FlexchaosError naming the key and what to write instead, before anything
starts, so a typo never silently becomes a default.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from flexchaos.errors import FlexchaosError

_ISO_MINUTES = re.compile(r"^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?$")


@dataclass(frozen=True)
class ScaleSetSpec:
    """[scale_set]: identity and size of the one scale set the emulator serves."""

    subscription_id: str = "00000000-0000-0000-0000-00000000c0de"
    resource_group: str = "rg-flexchaos"
    name: str = "vmss-web"
    location: str = "eastus"
    orchestration_mode: str = "Flexible"
    vm_count: int = 6
    zones: list[str] = field(default_factory=lambda: ["1", "2", "3"])
    vm_size: str = "Standard_D2s_v3"
    spot_count: int = 2
    spot_eviction_policy: str = "Deallocate"
    tags: dict[str, str] = field(default_factory=lambda: {"chaos": "allowed"})
    page_size: int = 50


@dataclass(frozen=True)
class HealthExtensionSpec:
    """[health_extension]: the ApplicationHealthLinux extension put on every VM."""

    enabled: bool = True
    protocol: str = "http"
    port: int = 0
    request_path: str = "/health"
    interval_in_seconds: int = 5
    number_of_probes: int = 1
    # "binary" (typeHandlerVersion 1.0: Healthy/Unhealthy) or "rich" (2.0: also Initializing,
    # Unknown); docs/azure-behaviour.md §3.2
    health_states: str = "binary"
    # rich only: seconds in Initializing at most; 0 = Azure's default, interval x numberOfProbes
    grace_period: int = 0

    @property
    def type_handler_version(self) -> str:
        return "2.0" if self.health_states == "rich" else "1.0"


@dataclass(frozen=True)
class AutomaticRepairsSpec:
    """[automatic_repairs]: the scale set's automaticRepairsPolicy."""

    enabled: bool = True
    grace_period: str = "PT10M"
    repair_action: str = "Replace"

    @property
    def grace_period_seconds(self) -> float:
        """The grace period in platform seconds."""
        return iso_duration_seconds(self.grace_period)


@dataclass(frozen=True)
class LoadBalancerSpec:
    """[load_balancer]: the Standard load balancer in front of the set and its probe."""

    name: str = "lb-web"
    probe_protocol: str = "Http"
    probe_path: str = "/health"
    probe_interval_in_seconds: int = 5
    probe_threshold: int = 1
    # New flows to a VM that is not running (before the probe takes it out): "blackhole" = no
    # answer, the client waits for its own timeout (Azure); "refuse" = reset at once (the
    # emulator's former behaviour, for comparison). docs/emulator-data-plane.md
    stopped_vm_flows: str = "blackhole"


@dataclass(frozen=True)
class AppSpec:
    """[app]: where each VM's reference app listens (VM i gets address_base + i)."""

    port: int = 0
    # "auto": a random block 127.0.B.1 (B in 1..250), so that two emulators on one machine
    # (a game day while the tests run) never answer for each other's VMs.
    address_base: str = "auto"


@dataclass(frozen=True)
class TimingsSpec:
    """[timings]: platform seconds per transition (docs/azure-behaviour.md §8)."""

    start: float = 30
    power_off: float = 15
    deallocate: float = 30
    restart: float = 30
    redeploy: float = 90
    reimage: float = 60
    create: float = 60
    delete: float = 30
    eviction_notice: float = 30
    extension: float = 10


@dataclass(frozen=True)
class ThrottlingSpec:
    """[throttling]: Azure's request budgets (Compute's per VM and per subscription, Resource
    Manager's per subscription; emulator/models/throttling.py). Off only for comparison."""

    enabled: bool = True


@dataclass(frozen=True)
class Topology:
    """The whole file."""

    scale_set: ScaleSetSpec = field(default_factory=ScaleSetSpec)
    health_extension: HealthExtensionSpec = field(default_factory=HealthExtensionSpec)
    automatic_repairs: AutomaticRepairsSpec = field(default_factory=AutomaticRepairsSpec)
    load_balancer: LoadBalancerSpec = field(default_factory=LoadBalancerSpec)
    app: AppSpec = field(default_factory=AppSpec)
    timings: TimingsSpec = field(default_factory=TimingsSpec)
    throttling: ThrottlingSpec = field(default_factory=ThrottlingSpec)


def iso_duration_seconds(text: str) -> float:
    """PT10M -> 600.0 (hours, minutes, seconds only, as Azure's grace periods use)."""
    match = _ISO_MINUTES.match(text)
    if not match or not any(match.groups()):
        raise ValueError(f"not an ISO 8601 duration like PT10M: {text!r}")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


_SECTIONS: dict[str, type] = {
    "scale_set": ScaleSetSpec,
    "health_extension": HealthExtensionSpec,
    "automatic_repairs": AutomaticRepairsSpec,
    "load_balancer": LoadBalancerSpec,
    "app": AppSpec,
    "timings": TimingsSpec,
    "throttling": ThrottlingSpec,
}


def _typed(section: str, key: str, value: Any, hint: Any) -> Any:
    where = f"[{section}] {key}"
    origin = getattr(hint, "__origin__", hint)
    if origin is bool:
        if not isinstance(value, bool):
            raise FlexchaosError(f"topology: {where} must be true or false, got {value!r}")
        return value
    if origin is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FlexchaosError(f"topology: {where} must be an integer, got {value!r}")
        return value
    if origin is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FlexchaosError(f"topology: {where} must be a number, got {value!r}")
        return float(value)
    if origin is str:
        if not isinstance(value, str):
            raise FlexchaosError(f"topology: {where} must be a string, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise FlexchaosError(f"topology: {where} must be a list of strings, got {value!r}")
        return [str(v) for v in value]
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise FlexchaosError(f"topology: {where} must be a table of strings, got {value!r}")
        return dict(value)
    raise AssertionError(f"unhandled type {hint} for {where}")  # pragma: no cover


def _section(name: str, raw: Any) -> Any:
    cls = _SECTIONS[name]
    if not isinstance(raw, dict):
        raise FlexchaosError(f"topology: [{name}] must be a table")
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise FlexchaosError(
            f"topology: unknown key [{name}] {unknown[0]}; known keys: {', '.join(sorted(known))}"
        )
    return cls(**{k: _typed(name, k, v, hints[k]) for k, v in raw.items()})


def _check(t: Topology) -> None:
    s = t.scale_set
    if s.orchestration_mode not in ("Flexible", "Uniform"):
        raise FlexchaosError(
            "topology: [scale_set] orchestration_mode must be 'Flexible' or 'Uniform'"
        )
    if not 0 <= s.vm_count <= 1000:
        raise FlexchaosError("topology: [scale_set] vm_count must be between 0 and 1000")
    if not 0 <= s.spot_count <= s.vm_count:
        raise FlexchaosError("topology: [scale_set] spot_count must be between 0 and vm_count")
    if not s.zones:
        raise FlexchaosError("topology: [scale_set] zones must name at least one zone")
    if s.spot_eviction_policy not in ("Deallocate", "Delete"):
        raise FlexchaosError(
            "topology: [scale_set] spot_eviction_policy must be 'Deallocate' or 'Delete'"
        )
    if s.page_size < 1:
        raise FlexchaosError("topology: [scale_set] page_size must be at least 1")
    if t.automatic_repairs.repair_action not in ("Replace", "Restart", "Reimage"):
        raise FlexchaosError(
            "topology: [automatic_repairs] repair_action must be Replace, Restart or Reimage"
        )
    try:
        t.automatic_repairs.grace_period_seconds  # noqa: B018 - validates
    except ValueError:
        raise FlexchaosError(
            "topology: [automatic_repairs] grace_period must be an ISO 8601 duration like PT10M"
        ) from None
    if t.health_extension.protocol not in ("http", "https", "tcp"):
        raise FlexchaosError("topology: [health_extension] protocol must be http, https or tcp")
    if t.health_extension.health_states not in ("binary", "rich"):
        raise FlexchaosError("topology: [health_extension] health_states must be binary or rich")
    if not 0 <= t.health_extension.grace_period <= 14400:
        raise FlexchaosError(
            "topology: [health_extension] grace_period must be 0 (Azure's default) to 14400 seconds"
        )
    if t.load_balancer.stopped_vm_flows not in ("blackhole", "refuse"):
        raise FlexchaosError(
            'topology: [load_balancer] stopped_vm_flows must be "blackhole" or "refuse"'
        )
    if t.load_balancer.probe_protocol not in ("Http", "Tcp"):
        raise FlexchaosError("topology: [load_balancer] probe_protocol must be Http or Tcp")
    try:
        base = ipaddress.IPv4Address(
            "127.0.1.1" if t.app.address_base == "auto" else t.app.address_base
        )
    except ValueError:
        raise FlexchaosError(
            'topology: [app] address_base must be "auto" or an IPv4 address like 127.0.1.1'
        ) from None
    if not base.is_loopback:
        raise FlexchaosError("topology: [app] address_base must be a loopback address (127.x)")
    last = base + max(0, t.scale_set.vm_count - 1)
    if not last.is_loopback:
        raise FlexchaosError(
            f"topology: [app] address_base {base} leaves 127.0.0.0/8 for {t.scale_set.vm_count} "
            f"VMs (the last would be {last}); choose a lower base"
        )
    for f in fields(TimingsSpec):
        if getattr(t.timings, f.name) < 0:
            raise FlexchaosError(f"topology: [timings] {f.name} must be >= 0 platform seconds")


def parse_topology(text: str, source: str = "topology") -> Topology:
    """Parse TOML text into a Topology, or raise FlexchaosError naming the bad key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FlexchaosError(f"{source}: not valid TOML ({exc}); fix the syntax") from None
    unknown = sorted(set(raw) - set(_SECTIONS))
    if unknown:
        raise FlexchaosError(
            f"topology: unknown section [{unknown[0]}]; known: {', '.join(_SECTIONS)}"
        )
    topology = Topology(**{name: _section(name, value) for name, value in raw.items()})
    _check(topology)
    return topology


def load_topology(path: Path | None) -> Topology:
    """The topology in `path`, or the default fleet when path is None."""
    if path is None:
        return Topology()
    try:
        text = path.read_text()
    except OSError as exc:
        raise FlexchaosError(f"cannot read topology file {path}: {exc.strerror}") from None
    return parse_topology(text, source=str(path))
