"""A harness process for the crash tests: inject a Chaos Studio shutdown through the one
injector, print STARTED, then wait to be killed. Run as a script:

    python tests/chaos/harness.py --arm-url URL --journal PATH --vm NAME [--vm NAME] --duration S

With --run it also holds the fault (printing STATUS lines as the execution moves) and reverts
it: SIGTERM/SIGINT then cancel the experiment and the harness exits 128 + the signal.
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
    parser.add_argument("--vm", action="append", default=[])
    parser.add_argument("--duration", type=float, default=3600.0)
    parser.add_argument("--experiment", default="flexchaos-killed")
    parser.add_argument("--run", action="store_true")
    args = parser.parse_args()
    target = FleetTarget.from_emulator(attach(args.arm_url))
    selection = Selection(names=tuple(args.vm))
    injector = Injector(target, Journal(args.journal), GuardLimits("100%", 0.0))
    if args.run:
        try:
            with injector:
                injection = injector.inject(
                    "chaos-shutdown", selection, args.duration, experiment=args.experiment,
                    abrupt=True,
                )  # fmt: skip
                [effect] = injection.effects.values()
                shown: list[str] = []

                def report() -> None:
                    for _, status in effect.detail.get("statuses", [])[len(shown) :]:
                        shown.append(status)
                        print("STATUS " + status, flush=True)

                end = injector.hold(injection, MAX_WAIT_S, 0.05, lambda: report() or None)
                injector.revert(injection)
        except Interrupted as exc:
            print(f"CANCELLED after {exc}", flush=True)
            return 128 + exc.signum
        print(f"ENDED {end.detail}", flush=True)
        return 0
    injection = injector.inject(
        "chaos-shutdown", selection, args.duration, experiment=args.experiment, abrupt=True
    )  # no `with`: nothing reverts it, as after a kill -9
    [effect] = injection.effects.values()
    print(f"STARTED {args.experiment} {effect.detail['execution_id']}", flush=True)
    deadline = time.monotonic() + MAX_WAIT_S
    while time.monotonic() < deadline:  # the experiment runs: wait to be killed
        time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
