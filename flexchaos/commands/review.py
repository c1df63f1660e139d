"""`flexchaos review`: read-only design review of a scale set, pass/warn/fail per check."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from fleet.review import review, text
from flexchaos.fleet_spec import FleetSpec, add_fleet_arguments, open_fleet

HELP = "design review of the scale set (read-only): zones, health extension, repairs, LB, Spot"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")
    add_fleet_arguments(parser)


def run(args: argparse.Namespace) -> int:
    with open_fleet(FleetSpec.from_args(args)) as fleet:
        findings = review(fleet.target)
    if args.json:
        print(json.dumps([asdict(f) for f in findings], indent=2))
    else:
        print(text(findings))
    return 1 if any(f.status == "fail" for f in findings) else 0
