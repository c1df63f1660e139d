"""The kill -9 matrix: does `flexchaos rollback` bring everything back after the harness is
killed at any moment of any experiment, with no load left behind and no effect on the next run?

Every trial (tests/reliability/kill_trial.py) starts a fresh emulator, runs one experiment of
the default game day with the real pytest harness, SIGKILLs the harness at a seeded moment of
one phase — baseline, injected (from the journal entry on: the fault call not yet sent, in
flight, or landed), hold, revert (for an experiment the platform heals: the end of the hold),
recovery — then runs `flexchaos rollback` and checks, against the emulator's ground truth:
all restored; no load generator alive 5 s after the harness died; the second rollback a no-op
(exit 0, "nothing to roll back", no mutating ARM call); and the next run of the experiment in
the same work dir ends as a clean run of it does (--clean-runs reference runs per experiment
first, each on a fresh emulator: a next run "as clean" ends in a state one of them ended in).

Trials cover every (experiment, phase) pair, in a seeded order, then repeat pairs up to
--trials; the moment within the phase comes from each trial's seed.

    .venv/bin/python bench/bench_kill_matrix.py [--trials 30] [--seed 14] [--time-scale 0.05]

Writes the figures to bench/results/reliability.json under "kill_matrix" (other sections of
that file are left as they are) and one raw record per trial to
bench/results/kill_matrix/trial-NN.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reliability.kill_trial import (  # noqa: E402
    PHASES,
    TrialRecord,
    TrialSpec,
    clean_state,
    default_experiments,
    run_trial,
)

RESULTS = ROOT / "bench" / "results"
RAW = RESULTS / "kill_matrix"
SECTION = "kill_matrix"


def specs(experiments: list[str], phases: list[str], trials: int, seed: int) -> list[TrialSpec]:
    pairs = [(e, p) for e in experiments for p in phases]
    order = random.Random(seed)
    chosen: list[tuple[str, str]] = []
    while len(chosen) < trials:
        batch = list(pairs)
        order.shuffle(batch)
        chosen += batch
    return [TrialSpec(i, e, p, seed * 1000 + i) for i, (e, p) in enumerate(chosen[:trials])]


def rollback_own_s(record: TrialRecord) -> float:
    """What rollback reports it took (0 when there was nothing to roll back)."""
    for line in record.rollback_lines:
        found = re.match(r"rollback done in ([0-9.]+) s", line)
        if found:
            return float(found.group(1))
    return 0.0


def line_count(record: TrialRecord, marker: str) -> int:
    return sum(marker in line for line in record.rollback_lines)


def outcome_kind(state: str, reason: str) -> str:
    """A verdict's state, and for inconclusive which kind: on a loaded machine a clean run is
    sometimes not judged (a gap in the capacity samples); a run disturbed by the one before it
    would show as a broken steady state (e.g. an orphan's failed requests) or an unproved fault."""
    if state != "inconclusive":
        return state
    for kind in ("not judged", "steady state", "fault not", "dry run"):
        if reason.startswith(kind) or kind in reason.split(":")[0]:
            return f"inconclusive ({kind})"
    return "inconclusive (other)"


def figures(
    records: list[TrialRecord],
    references: dict[str, list[dict[str, str]]],
    args: argparse.Namespace,
) -> dict[str, Any]:
    killed = [r for r in records if r.killed and not r.error]
    rollback_s = sorted(r.rollback_s for r in killed if r.rollback_s is not None)
    own_s = sorted(rollback_own_s(r) for r in killed)

    def count(pred: Any) -> int:
        return sum(1 for r in killed if pred(r))

    def as_clean(r: TrialRecord) -> bool:
        clean = {outcome_kind(c["state"], c["reason"]) for c in references[r.spec["experiment"]]}
        return outcome_kind(r.next_state or "missing", r.next_reason) in clean

    unaffected = count(as_clean)
    by_phase = {
        p: {
            "trials": sum(1 for r in killed if r.spec["phase"] == p),
            "restored": sum(1 for r in killed if r.spec["phase"] == p and r.restored),
        }
        for p in PHASES
    }
    by_experiment = {
        e: {
            "trials": sum(1 for r in killed if r.spec["experiment"] == e),
            "restored": sum(1 for r in killed if r.spec["experiment"] == e and r.restored),
        }
        for e in references
    }
    return {
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "time_scale": args.time_scale,
        "seed": args.seed,
        "trials": len(records),
        "killed": len(killed),
        "not_run": [{"spec": r.spec, "why": r.error} for r in records if not r.killed or r.error],
        "restored": count(lambda r: r.restored),
        "rollback_exit_0": count(lambda r: r.rollback_exit == 0),
        # the command's wall time, Python's start-up and imports included (slow on a loaded
        # machine), and the time rollback itself reports ("rollback done in X s")
        "rollback_command_s_p50": statistics.median(rollback_s) if rollback_s else None,
        "rollback_command_s_max": max(rollback_s) if rollback_s else None,
        "rollback_own_s_p50": statistics.median(own_s) if own_s else None,
        "rollback_own_s_max": max(own_s) if own_s else None,
        "reverted_entries": sum(line_count(r, ": reverted in ") for r in killed),
        "nothing_to_revert_entries": sum(line_count(r, ": nothing to revert in ") for r in killed),
        "failed_entries": sum(line_count(r, ": FAILED, left open in ") for r in killed),
        "load_processes_at_kill": sum(r.load_processes for r in killed),
        "load_alive_5s_after_kill": sum(r.load_alive_after_5s or 0 for r in killed),
        "trials_with_load_alive_5s_after_kill": count(lambda r: (r.load_alive_after_5s or 0) > 0),
        "second_rollback_noop": count(lambda r: r.second_noop),
        "next_run_as_clean": unaffected,
        "next_run_differs": [
            {
                "spec": r.spec,
                "next": r.next_state,
                "clean": references[r.spec["experiment"]],
                "reason": r.next_reason,
            }
            for r in killed
            if not as_clean(r)
        ],
        # What a leftover of the killed run would cause: an outcome no clean run had, other than
        # a pass or "not judged" (the loaded machine's sample gaps): a broken steady state (an
        # orphan's failed requests in the baseline), a fault not proved, an error, a miss.
        "next_run_disturbed": sum(
            1
            for r in killed
            if not as_clean(r)
            and outcome_kind(r.next_state or "missing", r.next_reason)
            not in ("passed", "inconclusive (not judged)")
        ),
        "clean_runs_not_judged": sum(
            outcome_kind(c["state"], c["reason"]) == "inconclusive (not judged)"
            for runs in references.values()
            for c in runs
        ),
        "clean_runs": sum(len(runs) for runs in references.values()),
        "next_run_baseline_error_rate_max": max(
            (r.next_baseline_error_rate or 0.0 for r in killed), default=None
        ),
        "not_restored": [{"spec": r.spec, "why": r.not_restored} for r in killed if not r.restored],
        "references": references,
        "by_phase": by_phase,
        "by_experiment": by_experiment,
    }


def write_section(path: Path, section: str, value: dict[str, Any]) -> None:
    """Read-modify-write one key of the shared results file."""
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[section] = value
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--time-scale", type=float, default=0.05)
    parser.add_argument("--clean-runs", type=int, default=2, help="reference runs per experiment")
    parser.add_argument("--experiments", help="comma-separated (default: the default game day)")
    parser.add_argument("--phases", help=f"comma-separated (default: {','.join(PHASES)})")
    parser.add_argument("--no-write", action="store_true", help="print, do not write results")
    parser.add_argument(
        "--refigure", action="store_true",
        help="recompute the figures from the stored trials and clean runs (no new trial)",
    )  # fmt: skip
    args = parser.parse_args()
    if args.refigure:
        stored = json.loads((RESULTS / "reliability.json").read_text())[SECTION]
        args.time_scale, args.seed = stored["time_scale"], stored["seed"]
        trials = sorted(RAW.glob("trial-*.json"))
        records = [TrialRecord(**json.loads(t.read_text())) for t in trials]
        result = figures(records, stored["references"], args)
        result["recorded_at"] = stored["recorded_at"]
        write_section(RESULTS / "reliability.json", SECTION, result)
        return 0
    experiments = args.experiments.split(",") if args.experiments else default_experiments()
    phases = args.phases.split(",") if args.phases else list(PHASES)
    plan = specs(experiments, phases, args.trials, args.seed)
    records: list[TrialRecord] = []
    with tempfile.TemporaryDirectory(prefix="flexchaos-kill-matrix-") as tmp:
        root = Path(tmp)
        references: dict[str, list[dict[str, str]]] = {}
        for experiment in experiments:
            references[experiment] = [
                clean_state(experiment, root, args.time_scale, i) for i in range(args.clean_runs)
            ]
            states = [c["state"] for c in references[experiment]]
            print(f"clean runs of {experiment}: {', '.join(states)}", flush=True)
        if not args.no_write:
            RAW.mkdir(parents=True, exist_ok=True)
            for old in RAW.glob("trial-*.json"):
                old.unlink()
        for spec in plan:
            began = time.monotonic()
            record = run_trial(spec, root, time_scale=args.time_scale)
            records.append(record)
            print(
                f"trial {spec.index:2d} {spec.experiment:<30} {spec.phase:<9} "
                f"killed={record.killed} restored={record.restored} "
                f"rollback={record.rollback_exit} in {record.rollback_s or 0:.1f} s "
                f"load_alive_5s={record.load_alive_after_5s} second_noop={record.second_noop} "
                f"next={record.next_state} ({time.monotonic() - began:.0f} s)"
                + (f" ERROR {record.error}" if record.error else ""),
                flush=True,
            )
            if not args.no_write:
                raw = RAW / f"trial-{spec.index:02d}.json"
                raw.write_text(json.dumps(record.to_dict(), indent=1) + "\n")
    result = figures(records, references, args)
    print(json.dumps({k: v for k, v in result.items() if k != "by_experiment"}, indent=1))
    if not args.no_write:
        write_section(RESULTS / "reliability.json", SECTION, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
