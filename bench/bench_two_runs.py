"""Two game days started together on one scale set, 20 times: the lease must refuse the second
every time, and the set must never have more VMs down than the guard allows.

Each trial starts two `flexchaos gameday` processes on one emulator (seeded stagger of 0 to
0.5 s between them; half the trials at exactly 0), cycling through the experiments that broke
in issue 14 (zone down: 4 of 6 VMs down; stop: each run judged the other's fault; Chaos Studio
shutdown: a shared experiment name). Once one run is refused and the other's fault is seen in,
the race is over: the other run gets SIGTERM, reverts and exits 130, so a trial costs a fraction
of a full experiment. A sampler lists the VMs through the SDK every 50 ms and
keeps the most seen out of `running` at once. Figures: bench/results/reliability.json, key
"two_runs".

    .venv/bin/python bench/bench_two_runs.py [--trials 20] [--seed 14]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.reliability_results import RESULTS, update
from emulator.launcher import RunningEmulator
from fleet.inventory import Inventory
from fleet.target import FleetTarget
from tests.reliability.two_runs import REPO, two_runs

EXPERIMENTS = ("test_zone_down.py", "test_stop_vm.py", "test_chaos_studio_shutdown.py")
GUARD_MAX_DOWN = 3  # default max_unavailable 50 % of 6 VMs
SETTLE_S = 120.0


def settled(target: FleetTarget) -> bool:
    instances = Inventory(target).instances()
    return len(instances) == 6 and all(i.running and i.healthy for i in instances)


def wait_settled(target: FleetTarget) -> None:
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        if settled(target):
            return
        time.sleep(0.2)
    raise SystemExit("the fleet did not settle between trials")


def summarise(trials: list[dict], seed: int, wanted: int) -> dict:
    """The section's figures from the trials so far (written after every trial)."""
    ran_codes: Counter[int] = Counter()
    for t in trials:
        codes = list(t["exit_codes"])
        if t["refused_by_lease"]:
            codes.remove(2)  # the refused run; what is left ran (130: stopped once its fault
            # was in and the other run refused; it reverted)
        ran_codes.update(codes)
    figures = {
        "trials": len(trials),
        "second_refused_every_time": all(t["refused_by_lease"] == 1 for t in trials),
        "refused_by_lease": sum(t["refused_by_lease"] for t in trials),
        "guard_max_down": GUARD_MAX_DOWN,
        "max_down_seen": max(t["max_down"] for t in trials),
        "never_over_guard": all(t["max_down"] <= GUARD_MAX_DOWN for t in trials),
        "exit_codes_of_the_run_that_ran": {str(k): v for k, v in sorted(ran_codes.items())},
        "seed": seed,
        "time_scale": 0.05,
        "trials_detail": trials,
    }
    figures["trials_planned"] = wanted
    return figures


def merge(sections: list[str]) -> int:
    """Join parallel series (each on its own emulator) into the section "two_runs"."""
    data = json.loads(RESULTS.read_text(encoding="utf-8"))
    parts = [data[s] for s in sections if s in data]
    trials = [t for part in parts for t in part["trials_detail"]]
    figures = summarise(trials, parts[0]["seed"], sum(p["trials_planned"] for p in parts))
    figures["series"] = [{"seed": p["seed"], "trials": p["trials"]} for p in parts]
    for section in sections[1:]:
        data.pop(section, None)
    RESULTS.write_text(json.dumps({**data, "two_runs": figures}, indent=2, sort_keys=True) + "\n")
    print(f"two_runs: {figures['trials']} trials, refused {figures['refused_by_lease']}, "
          f"max down {figures['max_down_seen']}")  # fmt: skip
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument(
        "--section", default="two_runs",
        help="key in reliability.json (a second series in parallel writes its own; "
        "--merge joins them)",
    )  # fmt: skip
    parser.add_argument("--merge", nargs="*", default=None, metavar="SECTION",
                        help="join these sections' trials into two_runs and exit")  # fmt: skip
    args = parser.parse_args()
    if args.merge is not None:
        return merge(["two_runs", *args.merge])
    rng = random.Random(args.seed)
    trials = []
    with RunningEmulator(time_scale=0.05) as emulator, tempfile.TemporaryDirectory() as tmp:
        target = FleetTarget.from_emulator(emulator.info)
        for n in range(args.trials):
            wait_settled(target)
            experiment = EXPERIMENTS[n % len(EXPERIMENTS)]
            stagger = 0.0 if n % 2 == 0 else round(rng.uniform(0.0, 0.5), 3)
            result = two_runs(
                emulator, Path(tmp) / f"trial{n}", experiment=REPO / "experiments" / experiment,
                stagger_s=stagger, users=1, stop_after_refusal=True,  # the lease, not the verdict
            )  # fmt: skip
            refused = [r for r in result.runs if r.refused_by_lease]
            trial = {
                "experiment": experiment.removeprefix("test_").removesuffix(".py"),
                "stagger_s": stagger,
                "exit_codes": [r.code for r in result.runs],
                "refused_by_lease": len(refused),
                "refusal": refused[0].refusal_lines()[0].strip()[:300] if refused else None,
                "max_down": result.max_down,
                "fault_calls": result.fault_calls,
                "wall_s": [round(r.wall_s, 2) for r in result.runs],
            }
            trials.append(trial)
            update(args.section, summarise(trials, args.seed, args.trials))  # kept if cut short
            print(
                f"trial {n + 1:2d} {trial['experiment']:<20} stagger {stagger:5.3f} s: exits "
                f"{trial['exit_codes']}, refused {len(refused)}, max down {result.max_down}",
                flush=True,
            )
    figures = summarise(trials, args.seed, args.trials)
    path = update(args.section, figures)
    print(
        f"{path}: second refused in {figures['refused_by_lease']}/{len(trials)} trials; "
        f"most VMs down at once {figures['max_down_seen']} (guard {GUARD_MAX_DOWN})"
    )
    return 0 if figures["second_refused_every_time"] and figures["never_over_guard"] else 1


if __name__ == "__main__":
    sys.exit(main())
