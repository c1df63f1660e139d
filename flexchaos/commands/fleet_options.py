"""Command-line options that name a fleet, shared by `plan`, `review` and (later) `gameday`.

`--fleet emulator` (default) attaches to a running emulator given by `--arm-url`, or starts
one for the duration of the command (with `--topology`); `--fleet azure` needs the
subscription, resource group and scale set and uses DefaultAzureCredential.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fleet.clients import AZURE_PUBLIC_ARM, Endpoint
from fleet.target import DEFAULT_ALLOW_TAG, FleetTarget
from flexchaos.errors import FlexchaosError


def add_fleet_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("fleet")
    group.add_argument(
        "--fleet",
        choices=("emulator", "azure"),
        default="emulator",
        help="where the scale set is (default: the built-in emulator)",
    )
    group.add_argument(
        "--arm-url",
        help="emulator: a running emulator's arm_url; "
        f"azure: Resource Manager endpoint (default {AZURE_PUBLIC_ARM})",
    )
    group.add_argument(
        "--topology",
        type=Path,
        help="emulator without --arm-url: topology TOML for the emulator started for this command",
    )
    group.add_argument("--subscription", help="subscription id (azure: required)")
    group.add_argument("--resource-group", help="resource group (azure: required)")
    group.add_argument("--scale-set", help="scale set name (azure: required)")
    group.add_argument("--load-balancer", help="load balancer name, for evidence and review")
    group.add_argument(
        "--allow-tag",
        default="=".join(DEFAULT_ALLOW_TAG),
        metavar="KEY=VALUE",
        help="tag the scale set must carry on Azure (default chaos=allowed)",
    )


def parse_tag(text: str, what: str = "--allow-tag") -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise FlexchaosError(f"{what} {text!r} must look like KEY=VALUE (e.g. chaos=allowed)")
    return key, value


@contextmanager
def fleet_target(args: argparse.Namespace) -> Iterator[FleetTarget]:
    """The target the options name; an emulator started for it is stopped afterwards."""
    allow_tag = parse_tag(args.allow_tag)
    if args.fleet == "azure":
        missing = [
            o
            for o, v in (
                ("--subscription", args.subscription),
                ("--resource-group", args.resource_group),
                ("--scale-set", args.scale_set),
            )
            if not v
        ]
        if missing:
            raise FlexchaosError(f"--fleet azure needs {', '.join(missing)}")
        yield FleetTarget(
            Endpoint(args.arm_url or AZURE_PUBLIC_ARM),
            args.subscription,
            args.resource_group,
            args.scale_set,
            load_balancer=args.load_balancer,
            allow_tag=allow_tag,
            kind="azure",
        )
        return
    from emulator.launcher import RunningEmulator, attach

    overrides = {
        k: v
        for k, v in {
            "subscription_id": args.subscription,
            "resource_group": args.resource_group,
            "scale_set": args.scale_set,
            "load_balancer": args.load_balancer,
        }.items()
        if v
    }
    if args.arm_url:
        try:
            info = attach(args.arm_url)
        except Exception as exc:
            raise FlexchaosError(
                f"no emulator answers at {args.arm_url} ({type(exc).__name__}); start one with "
                "`flexchaos emulator` or drop --arm-url"
            ) from None
        yield FleetTarget.from_emulator(info, allow_tag=allow_tag, **overrides)
        return
    if args.topology is not None and not args.topology.is_file():
        raise FlexchaosError(f"topology file {args.topology} does not exist")
    with RunningEmulator(topology=args.topology) as running:
        yield FleetTarget.from_emulator(running.info, allow_tag=allow_tag, **overrides)
