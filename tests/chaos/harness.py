"""A harness process for the crash test: start a Chaos Studio shutdown through the
journal-backed API, print STARTED, then wait to be killed. Run as a script:

    python tests/chaos/harness.py --arm-url URL --journal PATH --vm NAME [--vm NAME] --duration S

With --run it uses ChaosStudioShutdown.run() instead (prints STATUS lines as the execution
moves): SIGTERM/SIGINT then cancel the experiment and the harness exits 128 + the signal.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from emulator.launcher import attach
from fleet.chaos_studio import ChaosStudioShutdown
from fleet.guard import GuardLimits
from fleet.journal import Journal
from fleet.signals import Interrupted
from fleet.target import FleetTarget

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
    shutdown = ChaosStudioShutdown(
        target, Journal(args.journal), GuardLimits("100%", 0.0), experiment_name=args.experiment
    )
    if args.run:
        try:
            outcome = shutdown.run(
                args.vm,
                args.duration,
                abrupt=True,
                on_status=lambda s: print("STATUS " + s, flush=True),
            )
        except Interrupted as exc:
            print(f"CANCELLED after {exc}", flush=True)
            return 128 + exc.signum
        print(f"ENDED {outcome.status}", flush=True)
        return 0
    run = shutdown.start(args.vm, args.duration, abrupt=True)
    print(f"STARTED {run.experiment} {run.execution_id}", flush=True)
    deadline = time.monotonic() + MAX_WAIT_S
    while time.monotonic() < deadline:  # the experiment runs: wait to be killed
        time.sleep(0.1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
