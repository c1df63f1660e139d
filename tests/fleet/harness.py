"""A harness process for the crash tests: inject one fault through the journal-backed API, print
INJECTED, then wait to be killed. Run as a script:

    python tests/fleet/harness.py --arm-url URL --journal PATH --fault stop --vm NAME

SIGKILL leaves the fault in (the journal says so); SIGTERM/SIGINT make it revert and exit.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from emulator.launcher import attach
from fleet.guard import GuardLimits
from fleet.injector import Injector
from fleet.journal import Journal
from fleet.selection import Selection
from fleet.target import FleetTarget
from flexchaos.errors import Interrupted

MAX_WAIT_S = 300.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--arm-url", required=True)
    parser.add_argument("--journal", required=True)
    parser.add_argument("--fault", required=True)
    parser.add_argument("--vm", action="append", default=[])
    parser.add_argument("--zone")
    args = parser.parse_args()
    target = FleetTarget.from_emulator(attach(args.arm_url))
    options = {"zone": args.zone} if args.fault == "zone-down" else {}
    try:
        with Injector(target, Journal(args.journal), GuardLimits("100%", 0.0)) as chaos:
            injection = chaos.inject(args.fault, Selection(names=tuple(args.vm)), **options)
            print("INJECTED " + " ".join(injection.vms), flush=True)
            deadline = time.monotonic() + MAX_WAIT_S
            while time.monotonic() < deadline:  # the fault is in: wait to be killed
                time.sleep(0.1)
    except Interrupted as exc:
        print(f"REVERTED after {exc}", flush=True)
        return 128 + exc.signum
    print("REVERTED", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
