"""The analysis half of bench/bench_failover_accuracy.py: one trial's measured figures against
the emulator's ground truth, the per-fault summary and the Markdown page. Pure functions of
what a trial recorded (its timeline's `Metrics`, the truth events, the trial's own notes), so
that stored trials can be analysed again (`--reanalyse`) when the definitions change.

Ground truth (emulator/truth.py), per target VM:
  acceptance  the moment the platform took the fault on (per fault, `ACCEPTANCE` below)
  probe_down  the load balancer's probe took the VM out: the last moment a new flow could fail
and for the trial:
  true failover  = max over target VMs of probe_down − min over them of acceptance
  true detection = max over target VMs of (probe_down − its acceptance)
compared with `Metrics.failover_time_s` and `Metrics.failover_phases.detection_time_s`, all
converted to platform seconds with the emulator's time scale.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from probes.measures import Clock
from probes.metrics import Metrics

GOAL_FRACTION = 0.2  # the goal: p95 |error| ≤ 0.2 × the load balancer's probe interval

# fault → (truth kind, operation or None): the platform's acceptance of the fault, per VM.
ACCEPTANCE: dict[str, tuple[str, str | None]] = {
    "stop": ("operation_accepted", "powerOff"),
    "deallocate": ("operation_accepted", "deallocate"),
    "zone-down": ("operation_accepted", "powerOff"),
    "evict": ("eviction_scheduled", None),
    "chaos-shutdown": ("operation_accepted", "powerOff"),
}
ACCEPTANCE_TEXT: dict[str, str] = {
    "stop": "`operation_accepted` (powerOff) of the VM: Compute accepted the call",
    "deallocate": "`operation_accepted` (deallocate) of the VM: Compute accepted the call",
    "zone-down": "`operation_accepted` (powerOff) of each VM of the zone; the fault's start is "
    "the first of them",
    "evict": "`eviction_scheduled` of the VM: simulateEviction was accepted and the Preempt "
    "notice began (the VM serves through the notice; its eviction, `evicted`, comes 30 platform "
    "s later and is part of the true failover, as the harness's clock starts at the call too)",
    "chaos-shutdown": "`operation_accepted` (powerOff) that Chaos Studio's action issued on the "
    "VM — the moment the service powered it off, equal to its `power_state` leaving running. "
    "Not the execution's Running: on the emulator the two coincide, on Azure the VM action "
    "follows Running by an undocumented delay, and only the power-off is the fault landing. "
    "Chaos Studio's queueing before it (PreProcessingQueued → WaitingToStart, 10 platform s on "
    "the emulator) is not failover",
}


def first(
    truth: Sequence[Mapping[str, Any]], kind: str, vm: str | None, since: float, **match: Any
) -> Mapping[str, Any] | None:
    """The first truth event of `kind` (for `vm`, matching `match`) at or after `since`."""
    for event in sorted(truth, key=lambda e: e["time"]):
        if event["kind"] != kind or event["time"] < since:
            continue
        if vm is not None and event.get("vm") != vm:
            continue
        if all(event.get(k) == v for k, v in match.items()):
            return event
    return None


def vm_truth(
    fault: str, truth: Sequence[Mapping[str, Any]], vm: str, since: float
) -> dict[str, float | None]:
    """One target VM's ground truth (epoch seconds; None = not in the record)."""
    kind, operation = ACCEPTANCE[fault]
    match = {"operation": operation} if operation else {}
    accepted = first(truth, kind, vm, since, **match)
    at = accepted["time"] if accepted else None
    left = first(truth, "power_state", vm, since, **{"from": "running"})
    down = first(truth, "probe_down", vm, at) if at is not None else None
    app = first(truth, "app_down", vm, at) if at is not None else None
    return {
        "accepted": at,
        "left_running": left["time"] if left else None,
        "app_down": app["time"] if app else None,
        "probe_down": down["time"] if down else None,
    }


def _platform(clock: Clock, wall: float | None) -> float | None:
    if wall is None or math.isinf(wall):
        return wall
    return clock.platform(wall)


def _error(measured: float | None, truth: float | None) -> float | None:
    """measured − truth (platform s); inf when the harness measured no end; None: no truth."""
    if truth is None:
        return None
    if measured is None or math.isinf(measured):
        return math.inf
    return measured - truth


def analyse_trial(
    meta: Mapping[str, Any], metrics: Metrics, truth: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """One trial's row: truth, measurement and their difference, in platform seconds."""
    clock = Clock(meta["time_scale"])
    fault, vms, inject = meta["fault"], list(meta["vms"]), meta["inject"]
    since = meta["start"]
    per_vm = {vm: vm_truth(fault, truth, vm, since) for vm in vms}
    accepted = [t["accepted"] for t in per_vm.values()]
    downs = [t["probe_down"] for t in per_vm.values()]
    complete = all(a is not None for a in accepted) and all(d is not None for d in downs)
    true_failover = true_detection = start_offset = None
    if complete:
        true_failover = clock.platform(max(downs) - min(accepted))  # type: ignore[type-var]
        true_detection = max(
            clock.platform(t["probe_down"] - t["accepted"])  # type: ignore[operator]
            for t in per_vm.values()
        )
        start_offset = clock.platform(min(accepted) - inject)  # type: ignore[type-var]
    measured_failover = _platform(clock, metrics.failover_time_s)
    phases = metrics.failover_phases
    measured_detection = _platform(clock, phases.detection_time_s if phases else None)
    vm_rows = []
    by_vm = {p.vm: p for p in (phases.vms if phases else ())}
    for vm, t in per_vm.items():
        p = by_vm.get(vm)
        measured = _platform(clock, p.detection_time_s) if p else None
        truth_s = (
            clock.platform(t["probe_down"] - t["accepted"])
            if t["probe_down"] is not None and t["accepted"] is not None
            else None
        )
        vm_rows.append(
            {
                "vm": vm,
                **{f"truth_{k}": v for k, v in t.items()},
                "true_detection_s": truth_s,
                "measured_detection_s": measured,
                "detection_error_s": _error(measured, truth_s),
                "routing_source": p.routing_source if p else None,
                "routing_reason": p.routing_reason if p else None,
                "routing_stopped_minus_probe_down_s": None
                if p is None
                or p.routing_stopped is None
                or math.isinf(p.routing_stopped)
                or t["probe_down"] is None
                else clock.platform(p.routing_stopped - t["probe_down"]),
            }
        )
    last_down = max(downs) if complete else None  # type: ignore[type-var]
    end_gap = None
    if last_down is not None and measured_failover is not None and math.isfinite(measured_failover):
        end_gap = clock.platform(inject + clock.wall(measured_failover) - last_down)
    others = sorted(
        {
            e["vm"]
            for e in truth
            if e["kind"] == "probe_down"
            and e.get("vm") not in vms
            and meta["start"] <= e["time"] <= meta["end"]
        }
    )
    running = first(truth, "chaos_execution", None, since, status="Running")
    failed = meta.get("failed_requests")
    return {
        "trial": meta["trial"],
        "vms": vms,
        "true_failover_s": true_failover,
        "measured_failover_s": measured_failover,
        "failover_error_s": _error(measured_failover, true_failover),
        "true_detection_s": true_detection,
        "measured_detection_s": measured_detection,
        "detection_error_s": _error(measured_detection, true_detection),
        "start_offset_s": start_offset,
        "failover_end_gap_s": end_gap,
        "chaos_running_after_call_s": None
        if running is None
        else clock.platform(running["time"] - inject),
        "per_vm": vm_rows,
        "failed_requests": failed,
        "lb_failed_relays": meta.get("lb_failed_relays"),
        "counts_agree": failed is not None and failed == meta.get("lb_failed_relays"),
        "requests": meta.get("requests"),
        "lb_relays": meta.get("lb_relays"),
        "confounded_by": others,
        "ground_truth": complete,
        "verdict": meta.get("verdict"),
        "proof": meta.get("proof"),
        "error": meta.get("error"),
        "routing_step_s": _platform(clock, phases.routing_step_s if phases else None),
        # a figure the harness did not judge (its evidence had a gap) gates nothing: it is
        # counted apart, not scored as an error
        "failover_judged": "failover_time_s" not in metrics.not_judged,
        "detection_judged": "detection_time_s" not in metrics.not_judged,
    }


def _stats(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    array = np.array(values, dtype=float)
    finite = np.isfinite(array)
    if finite.all():
        return {k: float(f(array)) for k, f in _STATS.items()}
    # a never-ended figure is an infinite error: it sorts last and fails the goal
    return {
        "p50": float(np.percentile(array, 50, method="higher")),
        "p95": float(np.percentile(array, 95, method="higher")),
        "max": math.inf,
    }


_STATS = {
    "p50": lambda a: np.percentile(a, 50),
    "p95": lambda a: np.percentile(a, 95),
    "max": np.max,
}


def summarise(rows: Sequence[Mapping[str, Any]], goal_s: float) -> dict[str, Any]:
    """Per fault: the error percentiles over clean trials with ground truth, and the counts."""
    clean = [r for r in rows if not r["confounded_by"] and not r["error"] and r["ground_truth"]]
    summary: dict[str, Any] = {
        "trials": len(clean),
        "trials_run": len(rows),
        "confounded_trials": sum(bool(r["confounded_by"]) for r in rows),
        "harness_errors": sum(bool(r["error"]) for r in rows),
        "no_ground_truth": sum(not r["ground_truth"] and not r["error"] for r in rows),
        "goal_s": goal_s,
    }
    for figure in ("failover", "detection"):
        judged = [r for r in clean if r.get(f"{figure}_judged", True)]
        errors = [abs(r[f"{figure}_error_s"]) for r in judged if r[f"{figure}_error_s"] is not None]
        stats = _stats(errors)
        signed = [r[f"{figure}_error_s"] for r in judged if r[f"{figure}_error_s"] is not None]
        finite = [s for s in signed if math.isfinite(s)]
        p95 = stats["p95"]
        summary[figure] = {
            "abs_error_s": stats,
            "mean_signed_error_s": float(np.mean(finite)) if finite else None,
            "not_measured": sum(not math.isfinite(s) for s in signed),
            "not_judged": len(clean) - len(judged),
            "mean_truth_s": _mean([r[f"true_{figure}_s"] for r in clean]),
            "passed": p95 is not None and p95 <= goal_s,
        }
    offsets = [r["start_offset_s"] for r in clean if r["start_offset_s"] is not None]
    summary["mean_start_offset_s"] = float(np.mean(offsets)) if offsets else None
    summary["failed_requests"] = sum(r["failed_requests"] or 0 for r in rows)
    summary["lb_failed_relays"] = sum(r["lb_failed_relays"] or 0 for r in rows)
    summary["clean_trials_without_failures"] = sum(r["failed_requests"] == 0 for r in clean)
    summary["trials_with_count_agreement"] = sum(bool(r["counts_agree"]) for r in rows)
    summary["requests"] = sum(r["requests"] or 0 for r in rows)
    return summary


def _mean(values: Sequence[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


def misses(fault: str, rows: Sequence[Mapping[str, Any]], summary: Mapping[str, Any]) -> list[str]:
    """Why a figure misses the goal, read from the trials (one line per cause found)."""
    goal = summary["goal_s"]
    clean = [r for r in rows if not r["confounded_by"] and not r["error"] and r["ground_truth"]]
    lines = []
    for figure in ("failover", "detection"):
        if summary[figure]["passed"]:
            continue
        over = [r for r in clean if abs(r[f"{figure}_error_s"] or 0) > goal]
        offset = summary["mean_start_offset_s"] or 0.0
        silent = [r for r in over if figure == "failover" and r["failed_requests"] == 0]
        if offset > goal / 2:
            lines.append(
                f"{figure}: the harness's clock starts at its call, {offset:.2f} s (mean) before "
                "the platform's acceptance of the fault"
                + (
                    " (Chaos Studio's queueing: PreProcessingQueued → WaitingToStart → Running)"
                    if fault.startswith("chaos")
                    else ""
                )
                + f"; {len(over)} of {len(clean)} trials are over the goal by about that much."
            )
        if silent:
            truths = ", ".join(_s(r["true_failover_s"]) for r in silent)
            lines.append(
                f"{figure}: {len(silent)} trial(s) saw no failed request — no new flow reached "
                "the VM between its app going down and `probe_down` — and measured failover 0 "
                f"against a true {truths} s (issue 12, case 5: too little traffic reads as no "
                "disruption)."
            )
        rest = [r for r in over if r not in silent]
        if rest and offset <= goal / 2:
            step = _mean([r["routing_step_s"] for r in clean])
            cause = (
                f"the routing probe's step ({_s(step)} s median: one health query a platform "
                "second) plus the query's own time and the start offset"
                if figure == "detection"
                else "the end gap (the last doomed flow starts up to one inter-arrival time of "
                "new flows to the VM before `probe_down`) plus the start offset"
            )
            worst = max(abs(r[f"{figure}_error_s"]) for r in rest)
            lines.append(
                f"{figure}: {len(rest)} of {len(clean)} trials over the goal (up to "
                f"{_s(worst)} s): {cause}."
            )
    return lines


# -- Markdown -----------------------------------------------------------------------------------
def _s(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    if math.isinf(value):
        return "never ended"
    return f"{value:.{digits}f}"


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "**FAIL**"


def summary_table(report: Mapping[str, Any]) -> list[str]:
    """The table per fault of both errors against the goal (also the README's)."""
    goal = report["settings"]["goal_s"]
    lines = [
        f"| fault | trials (confounded, replaced) | \\|failover error\\| p50 / p95 / max | "
        f"p95 ≤ {goal:g} s | \\|detection error\\| p50 / p95 / max | p95 ≤ {goal:g} s | "
        "not judged (failover / detection) | failed requests / LB failed relays |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for fault, result in report["faults"].items():
        s = result["summary"]
        f, d = s["failover"], s["detection"]
        fa, da = f["abs_error_s"], d["abs_error_s"]
        lines.append(
            f"| {fault} | {s['trials']} ({s['confounded_trials']}) | "
            f"{_s(fa['p50'])} / {_s(fa['p95'])} / {_s(fa['max'])} | {_verdict(f['passed'])} | "
            f"{_s(da['p50'])} / {_s(da['p95'])} / {_s(da['max'])} | {_verdict(d['passed'])} | "
            f"{f.get('not_judged', 0)} / {d.get('not_judged', 0)} | "
            f"{s['failed_requests']} / {s['lb_failed_relays']} |"
        )
    return lines


def markdown(report: Mapping[str, Any]) -> str:
    st = report["settings"]
    lines = [
        "# Failover and detection accuracy against ground truth, every fault",
        "",
        f"Run {report.get('reanalysed_from') or report['when']} on {report['machine']}"
        + (
            f" (reanalysed {report['when']} with `--reanalyse`)"
            if "reanalysed_from" in report
            else ""
        )
        + ", `bench/bench_failover_accuracy.py "
        f"--trials {st['trials']}` ({report['run_time_s'] / 60:.1f} min): each trial is one "
        "game-day experiment (`flexchaos.lifecycle.Experiment`: the injector with a "
        "`Selection`, Locust as a subprocess plus the traffic, capacity and routing probes of "
        "`flexchaos/observation.py`, the timeline and `compute_metrics`) on the emulator at "
        f"time scale {st['time_scale']:g} (1 platform s = {st['time_scale'] * 1000:g} ms wall), "
        f"hold {st['hold_s']:g} platform s, baseline {st['baseline_s']:g} platform s, Locust "
        f"{st['users']} users × {st['rps_per_user']:g} req/s plus the 50 Hz probe, a new "
        "connection per request. All figures are **platform seconds**.",
        "",
        f"Goal: p95 of each \\|error\\| ≤ {GOAL_FRACTION:g} × the load balancer's probe "
        f"interval ({st['probe_interval_s']:g} s) = **{st['goal_s']:g} s**.",
        "",
        *summary_table(report),
        "",
        "- **true failover** = `probe_down` of the last target VM − the platform's acceptance "
        "of the fault (the last moment a new flow could fail); **measured** = "
        "`Metrics.failover_time_s` (the last failure of the last disruption; with no failed "
        "request but a target VM the load balancer stopped routing to, that routing change).",
        "- **true detection** = `probe_down` − acceptance, per VM, the slowest; **measured** = "
        "`Metrics.failover_phases.detection_time_s` (the midpoint between the last routing "
        "sample still showing the VM up and the first showing it down, from the harness's "
        "call).",
        "- Percentiles over the clean trials (numpy, linear); an error the harness could not "
        "close (never ended, not measured) counts as infinite.",
        "- A trial is *confounded* when ground truth shows another backend's probe going down "
        "during it (the emulator starved of CPU on the shared machine); it is kept below, "
        "marked, and replaced by another trial.",
        "- Failed requests (Locust + probe, from the timeline) against the load balancer's "
        "failed relays (`GET /_emulator/lb`, delta over the trial): every request is one flow.",
        "",
        "Acceptance (the start of the true figures), per fault:",
        "",
        *[f"- `{fault}`: {ACCEPTANCE_TEXT[fault]}." for fault in report["faults"]],
        "",
        "Where the error comes from, per trial: the *start offset* (acceptance − the harness's "
        "`inject` event: the call's own latency, and for Chaos Studio the service's queueing, "
        "which the harness's clock includes), the *end gap* (measured failover's end − the last "
        "`probe_down`: the last doomed flow starts up to one inter-arrival time of new flows "
        "before it) and, for detection, the routing probe's tick (one query a platform second, "
        f"{st['time_scale'] * 1000:g} ms wall here, plus the query's own time).",
        "",
        f"Raw per-trial timelines (`requests`, `capacity`, `events`, `routing` as gzipped JSON "
        f"lines), the truth events and each trial's record: `{report['raw_dir']}/<fault>/"
        "trial-NN/`.",
    ]
    for fault, result in report["faults"].items():
        s = result["summary"]
        lines += [
            "",
            f"## {fault}",
            "",
            f"{s['trials']} clean trials of {s['trials_run']} run ({s['confounded_trials']} "
            f"confounded, {s['harness_errors']} harness errors, {s['no_ground_truth']} without "
            f"ground truth); mean true failover {_s(s['failover']['mean_truth_s'])} s, mean "
            f"true detection {_s(s['detection']['mean_truth_s'])} s, mean start offset "
            f"{_s(s['mean_start_offset_s'])} s, mean signed errors: failover "
            f"{_s(s['failover']['mean_signed_error_s'])} s, detection "
            f"{_s(s['detection']['mean_signed_error_s'])} s; failed requests = LB failed "
            f"relays in {s['trials_with_count_agreement']}/{s['trials_run']} trials "
            f"({s['failed_requests']} / {s['lb_failed_relays']}, of {s['requests']} requests); "
            f"{s['clean_trials_without_failures']} clean trials without a failed request.",
            *(["", "Why it misses the goal:", ""] if misses(fault, result["trials"], s) else []),
            *[f"- {line}" for line in misses(fault, result["trials"], s)],
            "",
            "| trial | VMs | true failover | measured | error | true detection | measured | "
            "error | start offset | end gap | failed req | LB failed relays | note |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in result["trials"]:
            note = r["error"] or (
                f"confounded ({len(r['confounded_by'])})" if r["confounded_by"] else ""
            )
            if not r["ground_truth"] and not r["error"]:
                note = "no ground truth"
            lines.append(
                f"| {r['trial']} | {', '.join(v.split('_')[-1] for v in r['vms'])} | "
                f"{_s(r['true_failover_s'])} | {_s(r['measured_failover_s'])} | "
                f"{_s(r['failover_error_s'])} | {_s(r['true_detection_s'])} | "
                f"{_s(r['measured_detection_s'])} | {_s(r['detection_error_s'])} | "
                f"{_s(r['start_offset_s'])} | {_s(r['failover_end_gap_s'])} | "
                f"{r['failed_requests']} | {r['lb_failed_relays']} | {note} |"
            )
    return "\n".join(lines) + "\n"
