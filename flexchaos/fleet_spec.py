"""Which fleet a run targets: its options, their checks, and the fleet they resolve to.

The commands (`plan`, `review`) and the pytest plugin (game days) name a fleet with the same
options, checked by the same `FleetSpec.parse` and resolved by the same `open_fleet`, so a
flag means one thing everywhere. `--fleet emulator` (default) starts the built-in emulator for
the run (`--topology`, `--time-scale`) or attaches to a running one (`--arm-url`); `--fleet
azure` names a scale set (`--subscription`, `--resource-group`, `--scale-set`) reached with
DefaultAzureCredential. Bad input is a FlexchaosError, one line, raised before anything starts.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from fleet.clients import AZURE_PUBLIC_ARM
from fleet.target import DEFAULT_ALLOW_TAG, FleetTarget
from flexchaos.errors import FlexchaosError
from flexchaos.options import Option, add_to_argparse, from_argparse, from_pytest, text
from probes.measures import Clock

if TYPE_CHECKING:
    import pytest

    from emulator.launcher import EmulatorInfo

FleetKind = Literal["emulator", "azure"]
FLEETS: tuple[FleetKind, ...] = ("emulator", "azure")
DEFAULT_TIME_SCALE = 0.05  # the emulator's own default: a 10-minute repair grace in 30 s
# Below this the emulator cannot keep up (a 5 s health probe every 5 ms wall at 0.001; at 1e-7
# every VM reads unhealthy): refused rather than simulated wrongly.
MIN_TIME_SCALE = 0.001

FLEET_OPTIONS: tuple[Option, ...] = (
    Option(
        "fleet",
        "where the scale set is: the built-in emulator (started for the run, or attached with "
        "--arm-url) or azure",
        "emulator",
        metavar="{emulator,azure}",
    ),
    Option(
        "arm-url",
        "emulator: attach to the running emulator at this URL; azure: the Resource Manager "
        f"endpoint (default {AZURE_PUBLIC_ARM})",
        metavar="URL",
    ),
    Option(
        "arm-audience",
        "azure: the audience of the Resource Manager token, e.g. https://management.azure.com "
        "(default: the --arm-url)",
        metavar="URL",
    ),
    Option(
        "subscription",
        "subscription id (azure: required; emulator: instead of its own)",
        metavar="ID",
    ),
    Option(
        "resource-group",
        "resource group (azure: required; emulator: instead of its own)",
        metavar="NAME",
    ),
    Option(
        "scale-set",
        "scale set name (azure: required; emulator: instead of its own)",
        metavar="NAME",
    ),
    Option(
        "load-balancer",
        "name of the scale set's load balancer, for evidence and review",
        metavar="NAME",
    ),
    Option(
        "lb-url",
        "URL of the load balancer frontend that traffic goes through (azure game day: "
        "required; emulator: its own)",
        metavar="URL",
    ),
    Option(
        "allow-tag",
        "tag the scale set must carry on Azure before anything is injected",
        "=".join(DEFAULT_ALLOW_TAG),
        metavar="KEY=VALUE",
    ),
    Option("topology", "topology TOML of the emulator started for the run", metavar="FILE"),
    Option(
        "time-scale",
        f"wall seconds per platform second, {MIN_TIME_SCALE:g} to 1: of the emulator started "
        f"for the run (default {DEFAULT_TIME_SCALE}); with --arm-url, the running emulator's "
        "(checked; also an emulator in Azure mode reached with --fleet azure --arm-url)",
        metavar="S",
    ),
)


@dataclass(frozen=True)
class Fleet:
    """Where an experiment runs: the scale set, its load balancer frontend and its clock."""

    target: FleetTarget
    lb_url: str | None  # None only when nothing drives traffic (plan, review on Azure)
    time_scale: float = 1.0  # wall seconds per platform second (1.0 on Azure)

    @property
    def clock(self) -> Clock:
        return Clock(self.time_scale)

    def wall(self, platform_s: float) -> float:
        return self.clock.wall(platform_s)


@dataclass(frozen=True)
class FleetSpec:
    """The fleet options, checked: what `open_fleet` resolves into a Fleet."""

    kind: FleetKind = "emulator"
    arm_url: str | None = None
    arm_audience: str | None = None
    subscription: str | None = None
    resource_group: str | None = None
    scale_set: str | None = None
    load_balancer: str | None = None
    lb_url: str | None = None
    allow_tag: tuple[str, str] = DEFAULT_ALLOW_TAG
    topology: Path | None = None
    time_scale: float = DEFAULT_TIME_SCALE
    time_scale_given: bool = False  # named on the command line or in an ini file: checked
    traffic: bool = False  # a game day drives traffic, so it needs a load balancer frontend

    @classmethod
    def parse(cls, values: Mapping[str, Any], *, traffic: bool = False) -> FleetSpec:
        """Check raw option values (text from a command line or an ini file, or defaults)."""
        kind = text(values, "fleet") or "emulator"
        if kind not in FLEETS:
            raise FlexchaosError(f"--fleet {kind!r} is not known; use one of {', '.join(FLEETS)}")
        spec = cls(
            kind=kind,  # type: ignore[arg-type]  # checked against FLEETS just above
            arm_url=text(values, "arm_url"),
            arm_audience=text(values, "arm_audience"),
            subscription=text(values, "subscription"),
            resource_group=text(values, "resource_group"),
            scale_set=text(values, "scale_set"),
            load_balancer=text(values, "load_balancer"),
            lb_url=text(values, "lb_url"),
            allow_tag=parse_tag(text(values, "allow_tag") or "=".join(DEFAULT_ALLOW_TAG)),
            topology=_path(text(values, "topology")),
            time_scale=_time_scale(text(values, "time_scale")),
            time_scale_given=text(values, "time_scale") is not None,
            traffic=traffic,
        )
        spec._check()
        return spec

    @classmethod
    def from_args(cls, args: argparse.Namespace, *, traffic: bool = False) -> FleetSpec:
        return cls.parse(from_argparse(args, FLEET_OPTIONS), traffic=traffic)

    @classmethod
    def from_pytest(cls, config: pytest.Config) -> FleetSpec:
        """A game day's fleet: command line over ini over default; it drives traffic."""
        return cls.parse(from_pytest(config, FLEET_OPTIONS), traffic=True)

    @property
    def starts_emulator(self) -> bool:
        return self.kind == "emulator" and not self.arm_url

    def _check(self) -> None:
        if self.kind == "azure":
            needed = ["subscription", "resource-group", "scale-set"]
            needed += ["lb-url"] if self.traffic else []
            missing = [f"--{n}" for n in needed if not getattr(self, n.replace("-", "_"))]
            if missing:
                why = " (the scale set and its load balancer frontend)" if self.traffic else ""
                raise FlexchaosError(f"--fleet azure needs {', '.join(missing)}{why}")
        scaled_azure = self.time_scale_given and _azure_time_scale(self) == 1.0  # not loopback
        if self.kind == "azure" and (self.topology is not None or scaled_azure):
            flag = "--topology" if self.topology is not None else "--time-scale"
            raise FlexchaosError(f"{flag} applies only to the emulator; --fleet azure runs at "
                                 "Azure's own pace on the scale set that is there")  # fmt: skip
        if self.arm_url and self.kind == "emulator" and self.topology is not None:
            raise FlexchaosError(
                "--topology applies only to an emulator started for the run; the emulator at "
                f"{self.arm_url} has its own: drop --topology or --arm-url"
            )
        if self.starts_emulator and self.topology is not None:
            from emulator.topology import load_topology

            load_topology(self.topology)  # unreadable or malformed: one line, nothing started


def add_fleet_arguments(parser: argparse.ArgumentParser) -> None:
    """The fleet options on a command (`plan`, `review`)."""
    add_to_argparse(parser, "fleet", FLEET_OPTIONS)


@contextmanager
def open_fleet(
    spec: FleetSpec,
    *,
    log_path: Path | None = None,
    say: Callable[[str], None] | None = None,
    seed: int | None = None,
) -> Iterator[Fleet]:
    """The fleet the spec names; an emulator started for it is stopped on the way out.

    `log_path` receives a started emulator's stderr; `say` is told where it listens; `seed`
    names a started emulator's VMs (the same seed, the same names, so the same VMs chosen).
    """
    if spec.kind == "azure":
        assert spec.subscription and spec.resource_group and spec.scale_set  # FleetSpec.parse
        target = FleetTarget.azure(
            spec.subscription, spec.resource_group, spec.scale_set,
            load_balancer=spec.load_balancer, allow_tag=spec.allow_tag,
            arm_url=spec.arm_url or AZURE_PUBLIC_ARM, audience=spec.arm_audience,
        )  # fmt: skip
        yield Fleet(target, spec.lb_url, _azure_time_scale(spec))
        return
    from emulator.launcher import RunningEmulator, attach

    if spec.arm_url:
        yield _emulator_fleet(spec, attach(spec.arm_url))  # FlexchaosError when none answers
        return
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
    with RunningEmulator(
        topology=spec.topology, time_scale=spec.time_scale, log_path=log_path, seed=seed
    ) as emulator:
        info = emulator.info
        if say is not None:
            named = f", VM names from seed {seed}" if seed is not None else ""
            say(f"flexchaos: emulator at {info.arm_url} (time scale {info.time_scale:g}{named}), "
                f"load balancer at {info.lb_url}")  # fmt: skip
        yield _emulator_fleet(spec, info)


def parse_tag(tag: str, what: str = "--allow-tag") -> tuple[str, str]:
    """KEY=VALUE as a pair; anything else is one readable line."""
    key, sep, value = tag.partition("=")
    if not sep or not key:
        raise FlexchaosError(f"{what} {tag!r} must look like KEY=VALUE (e.g. chaos=allowed)")
    return key, value


def _emulator_fleet(spec: FleetSpec, info: EmulatorInfo) -> Fleet:
    if spec.time_scale_given and abs(spec.time_scale - float(info.time_scale)) > 1e-9:
        raise FlexchaosError(
            f"--time-scale {spec.time_scale:g} does not match the emulator at {info.arm_url}, "
            f"which runs at {float(info.time_scale):g}; drop --time-scale or pass "
            f"{float(info.time_scale):g}"
        )
    overrides = {
        key: value
        for key, value in {
            "subscription_id": spec.subscription,
            "resource_group": spec.resource_group,
            "scale_set": spec.scale_set,
            "load_balancer": spec.load_balancer,
        }.items()
        if value
    }
    lb_url = spec.lb_url or info.lb_url
    if spec.traffic and not lb_url:
        raise FlexchaosError(
            f"the emulator at {info.arm_url} has no load balancer frontend; pass --lb-url"
        )
    target = FleetTarget.from_emulator(info, allow_tag=spec.allow_tag, **overrides)
    return Fleet(target, lb_url, float(info.time_scale))


def _azure_time_scale(spec: FleetSpec) -> float:
    """Azure's clock is real time; an emulator in Azure mode (Resource Manager on this
    machine's loopback: never Azure) runs at its --time-scale."""
    host = urlsplit(spec.arm_url or AZURE_PUBLIC_ARM).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return spec.time_scale if loopback else 1.0


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _time_scale(value: str | None) -> float:
    if value is None:
        return DEFAULT_TIME_SCALE
    try:
        scale = float(value)
    except ValueError:
        scale = float("nan")
    if not MIN_TIME_SCALE <= scale <= 1:  # also false for nan
        raise FlexchaosError(
            f"--time-scale must be a number from {MIN_TIME_SCALE:g} to 1 (wall seconds per "
            f"platform second, e.g. 0.05), got {value!r}"
        )
    return scale
