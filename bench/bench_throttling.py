"""Calls per operation class per platform minute against Azure's request budgets, for the
default game day and for a 1000-VM game day (test_stop_vm and test_zone_down), with the
emulator's throttling on (Azure's buckets, emulator/models/throttling.py). The harness must
draw zero 429s at default settings, and the 1000-VM experiments must be judged on capacity (no
BROKEN or not judged for want of capacity samples). Also records each run's wall time and the
harness's largest process (max RSS).

Writes bench/results/throttling.json and bench/results/throttling.md.

Run: .venv/bin/python bench/bench_throttling.py [--vms 1000] [--time-scale-large 1.0]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import gameday_runs
from gameday_runs import ROOT, GameDayRun, per_minute_vs_buckets, run_gameday

RESULT = ROOT / "bench" / "results" / "throttling.json"
TABLE = ROOT / "bench" / "results" / "throttling.md"


def summary(run: GameDayRun) -> dict[str, object]:
    classes = per_minute_vs_buckets(run.throttling)
    return {
        "exit_code": run.exit_code,
        "wall_s": round(run.wall_s, 1),
        "harness_max_rss_mib": round(run.max_rss_mib, 1),
        "throttled_429_total": sum(run.throttling.get("throttled", {}).values()),
        "per_class": classes,
        "verdicts": {v["experiment"]: v.get("state") for v in run.verdicts},
        "targets": run.targets(),
        "output_tail": run.output_tail,
    }


def table(results: dict[str, dict[str, object]]) -> str:
    lines = [
        "| run | operation class | calls | busiest platform minute | subscription bucket "
        "(refill/min, capacity) | per-VM bucket | 429s |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, res in results.items():
        for name, c in res["per_class"].items():  # type: ignore[union-attr]
            sub, vm = c["subscription_bucket"], c["per_vm_bucket"]
            sub_text = f"{sub['refill_per_min']:g}, {sub['capacity']:g}" if sub else "-"
            vm_text = f"{vm['refill_per_min']:g}, {vm['capacity']:g}" if vm else "-"
            lines.append(
                f"| {label} | {name} | {c['calls']} | {c['busiest_platform_minute']} | "
                f"{sub_text} | {vm_text} | {c['throttled_429']} |"
            )
    lines.append("")
    for label, res in results.items():
        lines.append(
            f"- {label}: exit {res['exit_code']}, {res['wall_s']} s wall, harness max RSS "
            f"{res['harness_max_rss_mib']} MiB, verdicts {res['verdicts']}"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=1000)
    parser.add_argument("--time-scale-large", type=float, default=1.0)
    parser.add_argument("--skip-default", action="store_true", help="keep its recorded run")
    parser.add_argument("--skip-large", action="store_true", help="keep its recorded run")
    parser.add_argument("--logs", type=Path, help="keep each game day's output in this folder")
    parser.add_argument("--label", default="", help="appended to the large run's name")
    args = parser.parse_args()
    if args.logs:
        args.logs.mkdir(parents=True, exist_ok=True)
        gameday_runs.LOG_DIR = args.logs
    results: dict[str, dict[str, object]] = {}
    if RESULT.exists() and (args.skip_default or args.skip_large):
        results = json.loads(RESULT.read_text()).get("runs", {})
    if not args.skip_default:
        run = run_gameday("default game day")
        results["default game day"] = summary(run)
        print(f"default: exit {run.exit_code}, {run.wall_s:.0f} s", flush=True)
    if not args.skip_large:
        topology = f"[scale_set]\nvm_count = {args.vms}\nspot_count = {args.vms // 10}\n"
        run = run_gameday(
            f"{args.vms}-VM game day",
            topology_toml=topology,
            time_scale=args.time_scale_large,
            pytest_args=["-k", "test_stop_vm or test_zone_down", "--timeout", "1800"],
        )
        label = f", {args.label}" if args.label else ""
        name = f"{args.vms}-VM game day (time scale {args.time_scale_large:g}{label})"
        results[name] = summary(run)
        print(f"{args.vms} VMs: exit {run.exit_code}, {run.wall_s:.0f} s", flush=True)
    RESULT.write_text(
        json.dumps(
            {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
             "time_scale_large": args.time_scale_large, "runs": results},
            indent=2,
        ) + "\n"
    )  # fmt: skip
    TABLE.write_text(table(results))
    print(TABLE.read_text())
    total = sum(int(r["throttled_429_total"]) for r in results.values())  # type: ignore[arg-type]
    return 0 if total == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
