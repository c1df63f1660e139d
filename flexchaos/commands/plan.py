"""`flexchaos plan`: the dry run — print which VMs, which calls and which reverts; touch nothing."""

from __future__ import annotations

import argparse
from typing import Any

from fleet.faults import FAULTS, fault
from fleet.guard import DEFAULT_FLOOR, DEFAULT_MAX_UNAVAILABLE, GuardLimits
from fleet.plan import build_plan
from fleet.selection import Selection
from flexchaos.errors import FlexchaosError
from flexchaos.fleet_spec import FleetSpec, add_fleet_arguments, open_fleet, parse_tag

HELP = "dry run: print the plan of a fault (VMs, calls, reverts, guard) and change nothing"


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("selection")
    group.add_argument("--vm", action="append", default=[], help="a VM by name (repeatable)")
    group.add_argument("--count", type=int, help="choose this many VMs at random")
    group.add_argument("--percent", type=float, help="choose this percent of VMs at random")
    group.add_argument("--zone", help="only VMs of this zone (zone-down: the zone to take down)")
    group.add_argument("--fault-domain", type=int, help="only VMs of this fault domain")
    group.add_argument("--priority", choices=("Spot", "Regular"), help="only Spot or Regular VMs")
    group.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="only VMs with this tag (repeatable)",
    )
    group.add_argument(
        "--seed", type=int, help="seed of the random choice (default: random, always printed)"
    )
    guard = parser.add_argument_group("guard")
    guard.add_argument(
        "--max-unavailable",
        default=DEFAULT_MAX_UNAVAILABLE,
        help="count or percent out at once (default "
        + DEFAULT_MAX_UNAVAILABLE.replace("%", "%%")
        + ")",
    )
    guard.add_argument(
        "--floor",
        type=float,
        default=DEFAULT_FLOOR,
        help=f"healthy-capacity floor, fraction of the set (default {DEFAULT_FLOOR})",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fault", required=True, choices=list(FAULTS), metavar="FAULT",
        help="the fault: " + ", ".join(FAULTS),
    )  # fmt: skip
    parser.add_argument(
        "--skip-shutdown",
        action="store_true",
        help="stop/zone-down: power off without a graceful shutdown",
    )
    parser.add_argument("--abrupt", action="store_true", help="chaos-shutdown: abrupt shutdown")
    parser.add_argument("--path", help="break-extension: the failing path to probe")
    parser.add_argument(
        "--hold", type=float, default=60.0, metavar="SECONDS",
        help="hold time in platform seconds (the duration of a Chaos Studio shutdown)",
    )  # fmt: skip
    add_selection_arguments(parser)
    add_fleet_arguments(parser)


def selection_from(args: argparse.Namespace) -> Selection:
    return Selection(
        names=tuple(args.vm),
        count=args.count,
        percent=args.percent,
        zone=None if "zone" in fault(args.fault).options else args.zone,
        fault_domain=args.fault_domain,
        priority=args.priority,
        tags=dict(parse_tag(t, "--tag") for t in args.tag),
        seed=args.seed,
    )


def options_from(args: argparse.Namespace) -> dict[str, Any]:
    """The fault's options from the flags given; a flag the fault does not take is an error."""
    accepted = fault(args.fault).options
    given = {
        "skip_shutdown": True if args.skip_shutdown else None,
        "abrupt": True if args.abrupt else None,
        "path": args.path,
        "zone": args.zone if "zone" in accepted else None,
    }
    options = {k: v for k, v in given.items() if v is not None}
    refused = sorted(k for k in options if k not in accepted)
    if refused:
        flags = ", ".join("--" + k.replace("_", "-") for k in refused)
        raise FlexchaosError(f"fault {args.fault} does not take {flags}")
    return options


def run(args: argparse.Namespace) -> int:
    if not args.hold > 0:  # also false for nan
        raise FlexchaosError(f"--hold must be above 0 platform seconds, got {args.hold:g}")
    limits = GuardLimits(args.max_unavailable, args.floor)
    selection = selection_from(args)
    options = options_from(args)
    fault(args.fault).validate(options, args.hold)
    with open_fleet(FleetSpec.from_args(args)) as fleet:
        plan = build_plan(fleet.target, args.fault, selection, options, limits, hold_s=args.hold)
        print(plan.text())
    return 0 if plan.allowed else 2  # a refusal is bad input: change what the plan names
