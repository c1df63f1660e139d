"""Verdicts under ARM faults: the default game day with 30 % of Resource Manager's answers 429
and with 30 % 5xx, 3 runs each, compared target by target with a clean run. A target must give
the same result as the clean run or be not judged with its reason — never a flipped PASS/FAIL.

Writes the figures under key "arm_faults" of bench/results/reliability.json (other benches
write other keys) and prints a table.

Run: .venv/bin/python bench/bench_arm_faults.py [--runs 3] [--rate 0.3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gameday_runs
from gameday_runs import ROOT, GameDayRun, run_gameday, update_json

RESULT = ROOT / "bench" / "results" / "reliability.json"


def compare(clean: GameDayRun, faulty: GameDayRun) -> dict[str, object]:
    """Per experiment and target: same, not judged (with why), or flipped."""
    base, other = clean.targets(), faulty.targets()
    rows: list[dict[str, str]] = []
    for experiment, targets in sorted(base.items()):
        seen = other.get(experiment, {"(verdict)": "missing from the run"})
        for target, result in sorted(targets.items()):
            got = seen.get(target, seen.get("(verdict)", "missing"))
            if got == result:
                outcome = "same"
            elif result in ("pass", "fail") and got in ("pass", "fail"):
                outcome = "FLIPPED"
            elif result in ("pass", "fail"):
                outcome = "not judged"
            else:
                outcome = "clean run not judged"
            rows.append(
                {"experiment": experiment, "target": target, "clean": result, "run": got,
                 "outcome": outcome}
            )  # fmt: skip
    counts = {k: sum(r["outcome"] == k for r in rows) for k in
              ("same", "not judged", "FLIPPED", "clean run not judged")}  # fmt: skip
    return {"counts": counts, "rows": rows}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=0.3)
    parser.add_argument("--logs", type=Path, help="keep each game day's output in this folder")
    args = parser.parse_args()
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
        gameday_runs.LOG_DIR = args.logs
    started = time.time()
    clean = run_gameday("clean")
    print(f"clean: exit {clean.exit_code}, {clean.wall_s:.0f} s", flush=True)
    runs: list[dict[str, object]] = []
    for kind, flag in (("429", "--rate-429"), ("5xx", "--rate-5xx")):
        for i in range(args.runs):
            run = run_gameday(
                f"{kind}#{i + 1}", emulator_args=[flag, str(args.rate), "--seed", str(100 + i)]
            )
            result = compare(clean, run)
            runs.append(
                {"faults": f"{args.rate:.0%} {kind}", "run": i + 1, "exit_code": run.exit_code,
                 "wall_s": round(run.wall_s, 1), **result,
                 "emulator_throttled": run.throttling.get("throttled", {})}
            )  # fmt: skip
            print(f"{run.label}: exit {run.exit_code}, {run.wall_s:.0f} s, {result['counts']}",
                  flush=True)  # fmt: skip
    flipped = sum(int(r["counts"]["FLIPPED"]) for r in runs)  # type: ignore[index]
    summary = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "rate": args.rate,
        "runs_per_kind": args.runs,
        "clean": {"exit_code": clean.exit_code, "wall_s": round(clean.wall_s, 1),
                  "targets": clean.targets(),
                  "emulator_throttled": clean.throttling.get("throttled", {})},
        "runs": runs,
        "flipped_total": flipped,
    }  # fmt: skip
    update_json(RESULT, "arm_faults", summary)
    print(f"flipped verdicts: {flipped}; written to {RESULT}")
    return 0 if flipped == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
