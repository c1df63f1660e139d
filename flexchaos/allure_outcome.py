"""How an experiment's outcome appears in Allure: labels, parameters, the verdict with its chart,
and every attachment a reviewer needs (timeline tables, Locust's output, evidence, journal).
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any

from flexchaos.fleet_spec import Fleet
from flexchaos.lifecycle import Outcome
from flexchaos.scenario import Scenario


def allure_step(title: str) -> AbstractContextManager[Any]:
    import allure

    return allure.step(title)


def scale_set_identity(fleet: Fleet) -> str:
    """The fleet as an identity that stays the same from run to run: no endpoint, no port."""
    target = fleet.target
    return (
        f"{target.scale_set} in {target.resource_group} ({target.kind}, subscription "
        f"{target.subscription_id})"
    )


def scenario_text(scenario: Scenario, fleet: Fleet) -> str:
    where = f"scale set {scale_set_identity(fleet)}"
    heal = "the platform heals it (no revert)" if scenario.platform_heals else "reverted"
    return (
        f"{scenario.fault} on {selection_text(scenario)} of {where}; "
        f"baseline {scenario.baseline_s:g} s, hold {scenario.hold_s:g} s, {heal}, recovery "
        f"limit {scenario.recovery_limit_s:g} s (platform seconds; time scale "
        f"{fleet.time_scale:g})."
    )


def selection_text(scenario: Scenario) -> str:
    """The selection without its seed (the seed is a parameter of its own)."""
    parts = [p for p in scenario.selection.describe().split(", ") if not p.startswith("seed=")]
    option_text = ", ".join(f"{k}={v}" for k, v in scenario.options.items())
    return ", ".join(parts + ([option_text] if option_text else [])) or "all VMs"


def attach_outcome(outcome: Outcome, fleet: Fleet, *, hypothesis: str | None = None) -> None:
    """Everything the reviewer needs, verdict table and chart first; `hypothesis` as shown
    (the claim, then what judges it), the marker's words when not given."""
    from probes.measures import Clock
    from reports import allure_attachments as report
    from reports.chart import render_timeline

    scenario = outcome.scenario
    zones = sorted(
        {
            str(vm.get("zones", [None])[0])
            for name, vm in (outcome.evidence_before or {}).get("vms", {}).items()
            if name in outcome.vms and vm.get("zones")
        }
    )
    report.label_experiment(
        fault=scenario.fault, story=scenario.display_title, severity=scenario.severity, zones=zones
    )
    report.set_parameters(vms=outcome.vms, seed=outcome.seed, scale_set=scale_set_identity(fleet))
    chart = None
    timeline = outcome.timeline
    if timeline is not None:
        chart = render_timeline(
            timeline, outcome.metrics,  # None (dry run): the chart asks the probes for them
            title=f"{scenario.display_title}: {scenario.fault} on {', '.join(outcome.vms)}",
            clock=Clock(fleet.time_scale),
            limits={row.target: row.limit for row in outcome.verdict.rows}
            if outcome.verdict is not None else None,
        )  # fmt: skip
        if outcome.work_dir is not None:
            (outcome.work_dir / "timeline.png").write_bytes(chart)
    if outcome.verdict is not None:
        report.present_verdict(
            outcome.verdict, scenario=scenario_text(scenario, fleet),
            hypothesis=hypothesis or scenario.hypothesis, chart_png=chart,
        )  # fmt: skip
    elif chart is not None:
        report.attach_chart(chart)
    if outcome.metrics is not None:
        import allure

        allure.attach(
            json.dumps(outcome.metrics.resolution_notes(), indent=2),  # and probe diagnostics
            "sampling resolution of each figure", allure.attachment_type.JSON, "json",
        )  # fmt: skip
    if timeline is not None:
        report.attach_requests_csv(timeline.requests)
        report.attach_timeline_csv(timeline.capacity, "capacity samples")
        report.attach_timeline_csv(timeline.events, "fault events")
        if not timeline.routing.empty:
            report.attach_timeline_csv(timeline.routing, "routing samples")
    if outcome.load_dir is not None:
        report.attach_locust_stats(sorted(outcome.load_dir.glob("locust*")))
    report.attach_evidence(
        outcome.evidence_before,
        outcome.evidence_after,
        outcome.drift.to_json() if outcome.drift is not None else None,
    )
    if outcome.injection is not None:
        report.attach_journal([e.to_record() for e in outcome.injection.entries])
