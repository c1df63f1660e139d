"""How accurate are the measured failover and detection times? Every fault, N trials each,
against the emulator's ground truth, in platform seconds.

Each trial is one game-day experiment run by the harness's own lifecycle
(`flexchaos.lifecycle.Experiment`): preflight, baseline under load, inject through
`fleet.injector.Injector` with a `Selection` (journaled, guarded), hold, revert, recover, tail,
then the timeline and `probes.metrics.compute_metrics` — with Locust as a subprocess, the
traffic probe, the capacity probe and the routing probe exactly as `flexchaos/observation.py`
starts them. Faults (selections as in experiments/test_*.py, a fresh seed per trial):

    stop            one Regular VM powered off           (test_stop_vm)
    deallocate      one Regular VM deallocated           (test_deallocate_vm)
    evict           one Spot VM, simulateEviction        (test_spot_eviction)
    zone-down       every VM of one zone (1, 2, 3 in turn) (test_zone_down)
    chaos-shutdown  one Regular VM, Chaos Studio's abrupt VM shutdown (test_chaos_studio_shutdown)

One emulator per fault (time scale 0.05 by default). Between trials every backend must be up
again. Afterwards each trial's `Metrics.failover_time_s` and
`Metrics.failover_phases.detection_time_s` are compared with the truth
(bench/failover_accuracy_analysis.py says which truth event starts each fault and why):

    true failover  = probe_down(last target VM) − the platform's acceptance of the fault
    true detection = probe_down − acceptance, per VM, the slowest

A trial during which another backend's probe goes down (the emulator starved of CPU) is
confounded: kept, marked and replaced (at most --max-extra per fault); so is a trial the
harness could not run (an error). Failed requests are compared with the load balancer's failed
relays. Raw timelines and truth go to bench/results/failover_accuracy/<fault>/trial-NN/.

    .venv/bin/python bench/bench_failover_accuracy.py [--trials 20] [--faults stop,evict]
    .venv/bin/python bench/bench_failover_accuracy.py --reanalyse   # stored trials, today's code

Writes bench/results/failover_accuracy.json and .md.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from emulator.launcher import EmulatorClient, RunningEmulator  # noqa: E402
from fleet.selection import Selection  # noqa: E402
from fleet.target import FleetTarget  # noqa: E402
from flexchaos.errors import FlexchaosError  # noqa: E402
from flexchaos.fleet_spec import Fleet  # noqa: E402
from flexchaos.lifecycle import Experiment, RunOptions  # noqa: E402
from flexchaos.scenario import Scenario  # noqa: E402
from probes.measures import Clock  # noqa: E402
from probes.metrics import Metrics, compute_metrics  # noqa: E402
from probes.probe_settings import ProbeSettings  # noqa: E402
from probes.timeline import Timeline  # noqa: E402
from reports.targets import load_targets  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from failover_accuracy_analysis import (  # noqa: E402
    GOAL_FRACTION,
    analyse_trial,
    markdown,
    summarise,
    summary_table,
)

RESULTS = ROOT / "bench" / "results"
RAW = RESULTS / "failover_accuracy"
TABLES = ("requests", "capacity", "events", "routing")


@dataclass(frozen=True)
class Case:
    """One fault as the bench runs it: the experiment it mirrors, its selection and options."""

    fault: str
    experiment: str
    selection: Callable[[int], Selection]
    options: Callable[[int], dict[str, Any]] = field(default=lambda k: {})


CASES: dict[str, Case] = {
    c.fault: c
    for c in (
        Case("stop", "test_stop_vm", lambda k: Selection(count=1, priority="Regular", seed=k)),
        Case(
            "deallocate",
            "test_deallocate_vm",
            lambda k: Selection(count=1, priority="Regular", seed=k),
        ),
        Case("evict", "test_spot_eviction", lambda k: Selection(count=1, priority="Spot", seed=k)),
        Case(
            "zone-down",
            "test_zone_down",
            lambda k: Selection(seed=k),
            lambda k: {"zone": str(k % 3 + 1)},
        ),
        Case(
            "chaos-shutdown",
            "test_chaos_studio_shutdown",
            lambda k: Selection(count=1, priority="Regular", seed=k),
            lambda k: {"abrupt": True},
        ),
    )
}


def poll(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def lb_state(client: EmulatorClient) -> dict[str, Any]:
    response = client._http.get("/_emulator/lb")
    response.raise_for_status()
    return response.json()


def probe_interval_s(target: FleetTarget) -> float:
    """The load balancer's probe interval (platform s), read as the harness reads Azure's."""
    lb = target.clients.network.load_balancers.get(target.resource_group, target.load_balancer)
    return float(lb.probes[0].interval_in_seconds)


# -- raw trials -----------------------------------------------------------------------------
def write_raw(
    folder: Path, timeline: Timeline | None, truth: list[dict[str, Any]], meta: dict, log: list[str]
) -> None:
    """A trial's timeline tables and truth, gzipped JSON lines; its record as JSON."""
    folder.mkdir(parents=True, exist_ok=True)
    if timeline is not None:
        for name in TABLES:
            table: pd.DataFrame = getattr(timeline, name)
            table.to_json(
                folder / f"{name}.jsonl.gz", orient="records", lines=True, compression="gzip"
            )
    with gzip.open(folder / "truth.json.gz", "wt") as out:
        json.dump(truth, out)
    (folder / "trial.json").write_text(json.dumps(meta, indent=1, default=str) + "\n")
    (folder / "lifecycle.log").write_text("\n".join(log) + "\n")


def read_raw(folder: Path) -> tuple[Timeline, list[dict[str, Any]], dict[str, Any]]:
    tables = {}
    for name in TABLES:
        path = folder / f"{name}.jsonl.gz"
        tables[name] = (
            pd.read_json(path, lines=True, compression="gzip", dtype=False)
            if path.exists() and path.stat().st_size > 20
            else None
        )
    with gzip.open(folder / "truth.json.gz", "rt") as src:
        truth = json.load(src)
    return Timeline.build(**tables), truth, json.loads((folder / "trial.json").read_text())


# -- running --------------------------------------------------------------------------------
def run_trial(
    case: Case,
    k: int,
    fleet: Fleet,
    client: EmulatorClient,
    args: argparse.Namespace,
    work: Path,
    targets: Any,
) -> tuple[dict[str, Any], Metrics | None, Timeline | None, list[dict[str, Any]], list[str]]:
    """One experiment: its record, metrics and timeline (None on a harness error), truth, log."""
    vms_all = [b["vm"] for b in lb_state(client)["backends"]]
    poll(
        lambda: all(b["state"] == "up" for b in lb_state(client)["backends"]),
        120,
        "every backend up before the trial",
    )
    scenario = Scenario(
        name=case.experiment,
        fault=case.fault,
        selection=case.selection(args.seed + k),
        options=case.options(k),
        baseline_s=args.baseline,
        hold_s=args.hold,
    )
    log: list[str] = []
    options = RunOptions(work_dir=work / case.fault / f"trial-{k:02d}", journal=work / "journal")
    if args.users:
        options = replace(options, users=args.users)
    if args.rps_per_user:
        options = replace(options, rps_per_user=args.rps_per_user)
    experiment = Experiment(
        scenario, fleet, targets.for_experiment(case.experiment), options, write=log.append
    )
    before = lb_state(client)
    start = time.time()
    error = None
    try:
        outcome = experiment.run()
    except FlexchaosError as exc:
        error, outcome = f"harness error: {exc}".splitlines()[0][:300], None
    end = time.time()
    after = lb_state(client)
    truth = [e for e in client.truth() if start - 1.0 <= e["time"] <= end + 1.0]
    metrics = outcome.metrics if outcome is not None else None
    timeline = outcome.timeline if outcome is not None else None
    injection = outcome.injection if outcome is not None else None
    inject = min(timeline.injections(), default=None) if timeline is not None else None
    if outcome is not None and (injection is None or inject is None):
        why = outcome.verdict.reason if outcome.verdict is not None else "no injection"
        error = f"not injected: {why}"[:300]
    requests = timeline.requests if timeline is not None else None
    meta = {
        "trial": k,
        "fault": case.fault,
        "experiment": case.experiment,
        "seed": args.seed + k,
        "options": case.options(k),
        "vms": list(injection.vms) if injection is not None else [],
        "backends": vms_all,
        "baseline_instances": len(vms_all),
        "time_scale": fleet.time_scale,
        "start": start,
        "end": end,
        "inject": inject,
        "failed_requests": None if requests is None else int((~requests["ok"]).sum()),
        "requests": None if requests is None else len(requests),
        "lb_failed_relays": after["failed_relays"] - before["failed_relays"],
        "lb_relays": after["relays"] - before["relays"],
        "verdict": None if outcome is None or outcome.verdict is None else outcome.verdict.state,
        "proof": None if outcome is None or outcome.proof is None else outcome.proof.evidence,
        "locust": None
        if metrics is None or metrics.diagnostics is None or metrics.diagnostics.locust is None
        else metrics.diagnostics.locust.describe(),
        "error": error,
    }
    return meta, metrics, timeline, truth, log


def run_fault(case: Case, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    emulator = RunningEmulator(time_scale=args.time_scale, log_path=work / f"{case.fault}.log")
    targets = load_targets()
    rows: list[dict[str, Any]] = []
    try:
        info = emulator.info
        if not info.lb_url:
            raise SystemExit("bench: the emulator announced no lb_url; the load balancer is needed")
        target = FleetTarget.from_emulator(info)
        fleet = Fleet(target, info.lb_url, float(info.time_scale))
        interval = probe_interval_s(target)
        clean = 0
        for k in range(args.trials + args.max_extra):
            if clean == args.trials:
                break
            meta, metrics, timeline, truth, log = run_trial(
                case, k, fleet, emulator.client, args, work, targets
            )
            raw = args.raw / case.fault / f"trial-{k:02d}"
            if metrics is not None and meta["error"] is None:
                row = analyse_trial(meta, metrics, truth)
            else:
                row = error_row(meta)
            write_raw(raw, timeline, truth, meta, log)
            rows.append(row)
            ok = not row["confounded_by"] and not row["error"] and row["ground_truth"]
            clean += ok
            print(
                f"  {case.fault} trial {k:02d} {','.join(meta['vms'])}: "
                + trial_line(row)
                + f"; clean {clean}/{args.trials}",
                flush=True,
            )
    finally:
        emulator.stop()
    return {"probe_interval_s": interval, "trials": rows}


def error_row(meta: dict[str, Any]) -> dict[str, Any]:
    """A trial the harness could not run or did not inject: counted, never in the figures."""
    keys = (
        "true_failover_s",
        "measured_failover_s",
        "failover_error_s",
        "true_detection_s",
        "measured_detection_s",
        "detection_error_s",
        "start_offset_s",
        "failover_end_gap_s",
        "chaos_running_after_call_s",
        "routing_step_s",
    )
    return {
        "trial": meta["trial"],
        "vms": meta["vms"],
        **dict.fromkeys(keys),
        "per_vm": [],
        "failed_requests": meta["failed_requests"],
        "lb_failed_relays": meta["lb_failed_relays"],
        "counts_agree": meta["failed_requests"] == meta["lb_failed_relays"],
        "requests": meta["requests"],
        "lb_relays": meta["lb_relays"],
        "confounded_by": [],
        "ground_truth": False,
        "verdict": meta["verdict"],
        "proof": meta["proof"],
        "error": meta["error"],
    }


def trial_line(row: dict[str, Any]) -> str:
    if row["error"]:
        return row["error"]

    def f(v: float | None) -> str:
        return "-" if v is None else ("inf" if math.isinf(v) else f"{v:.2f}")

    text = (
        f"failover {f(row['measured_failover_s'])} vs {f(row['true_failover_s'])} "
        f"(err {f(row['failover_error_s'])}), detection {f(row['measured_detection_s'])} vs "
        f"{f(row['true_detection_s'])} (err {f(row['detection_error_s'])}) platform s; "
        f"failed {row['failed_requests']} / LB {row['lb_failed_relays']}"
    )
    if row["confounded_by"]:
        text += f"; CONFOUNDED by {len(row['confounded_by'])}"
    return text


def report(
    args: argparse.Namespace,
    faults: dict[str, dict[str, Any]],
    run_time_s: float,
    settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    interval = next(iter(faults.values()))["probe_interval_s"]
    goal = GOAL_FRACTION * interval
    for result in faults.values():
        result["summary"] = summarise(result["trials"], goal)
    users = args.users or RunOptions(work_dir=Path(), journal=Path()).users
    rps = args.rps_per_user or RunOptions(work_dir=Path(), journal=Path()).rps_per_user
    return {
        "bench": "failover_accuracy",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()} {platform.system()}, Python "
        f"{platform.python_version()}, {_cores()} cores",
        "run_time_s": run_time_s,
        "settings": settings
        or {
            "trials": args.trials,
            "faults": list(faults),
            "time_scale": args.time_scale,
            "hold_s": args.hold,
            "baseline_s": args.baseline,
            "users": users,
            "rps_per_user": rps,
            "probe_hz": 50.0,
            "seed": args.seed,
            "probe_interval_s": interval,
            "goal_s": goal,
            "connection": "new connection per request (Locust and probe)",
        },
        "definitions": {
            "true_failover_s": "max over target VMs of probe_down − min of their acceptance",
            "true_detection_s": "max over target VMs of (probe_down − acceptance)",
            "measured_failover_s": "Metrics.failover_time_s",
            "measured_detection_s": "Metrics.failover_phases.detection_time_s",
            "error_s": "measured − true (platform s); inf: the harness measured no end",
            "start_offset_s": "first acceptance − the harness's inject event",
            "failover_end_gap_s": "inject + measured failover − last probe_down",
            "percentiles": "numpy linear over clean trials; p95 ≤ goal_s passes",
        },
        "raw_dir": str(args.raw.relative_to(ROOT))
        if args.raw.is_relative_to(ROOT)
        else str(args.raw),
        "faults": faults,
    }


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def reanalyse(args: argparse.Namespace) -> dict[str, Any]:
    """Recompute every stored trial's figures with today's compute_metrics (the lifecycle's
    arguments; no probe diagnostics) against its stored truth."""
    old = json.loads((args.out / "failover_accuracy.json").read_text())
    faults: dict[str, dict[str, Any]] = {}
    for fault, result in old["faults"].items():
        rows = []
        for folder in sorted((args.raw / fault).glob("trial-*")):
            timeline, truth, meta = read_raw(folder)
            if meta.get("error"):
                rows.append(error_row(meta))
                continue
            metrics = compute_metrics(
                timeline,
                probe=ProbeSettings(interval_s=float(result["probe_interval_s"])),
                clock=Clock(float(old["settings"]["time_scale"])),
                baseline_instances=meta["baseline_instances"],
                platform_heals=False,
            )
            rows.append(analyse_trial(meta, metrics, truth))
        faults[fault] = {"probe_interval_s": result["probe_interval_s"], "trials": rows}
    out = report(args, faults, old["run_time_s"], old["settings"])
    out["reanalysed_from"] = old.get("reanalysed_from", old["when"])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="clean trials per fault")
    parser.add_argument(
        "--faults", default=",".join(CASES), help=f"comma-separated, of {', '.join(CASES)}"
    )
    parser.add_argument("--time-scale", type=float, default=0.05)
    parser.add_argument("--hold", type=float, default=30.0, help="platform s")
    parser.add_argument("--baseline", type=float, default=20.0, help="platform s")
    parser.add_argument("--users", type=int, default=0, help="0 = the harness's default")
    parser.add_argument("--rps-per-user", type=float, default=0.0, help="0 = the default")
    parser.add_argument("--seed", type=int, default=1200, help="trial k uses seed + k")
    parser.add_argument("--max-extra", type=int, default=10, help="replacement trials per fault")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--raw", type=Path, default=RAW)
    parser.add_argument(
        "--reanalyse", action="store_true", help="recompute the stored trials; run nothing"
    )
    args = parser.parse_args()
    args.raw = args.raw.resolve()
    faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = [f for f in faults if f not in CASES]
    if unknown or not faults:
        parser.error(f"unknown fault(s) {', '.join(unknown)}; use {', '.join(CASES)}")
    if args.reanalyse:
        result = reanalyse(args)
    else:
        began = time.monotonic()
        work = Path(tempfile.mkdtemp(prefix="flexchaos-failover-bench-"))
        for fault in faults:
            shutil.rmtree(args.raw / fault, ignore_errors=True)
        results = {}
        for fault in faults:
            print(f"{fault}: {args.trials} trials", flush=True)
            results[fault] = run_fault(CASES[fault], args, work)
        result = report(args, results, time.monotonic() - began)
        result["workdir"] = str(work)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "failover_accuracy.json").write_text(
        json.dumps(finite(result), indent=1, default=str) + "\n"
    )
    (args.out / "failover_accuracy.md").write_text(markdown(result))
    print("\n".join(summary_table(result)))
    passed = all(
        r["summary"][figure]["passed"]
        for r in result["faults"].values()
        for figure in ("failover", "detection")
    )
    return 0 if passed else 1


def finite(value: Any) -> Any:
    """The report with math.inf as "inf" (strict JSON has no infinity; verdict.json says so)."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


if __name__ == "__main__":
    sys.exit(main())
