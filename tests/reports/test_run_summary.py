"""The run summary: one table for the run, each figure against its limit, the change from the
previous run, the run's identity, the design review as a checklist; fixture steps tidied."""

from __future__ import annotations

import json
from pathlib import Path

from flexchaos.run_identity import ci_run
from reports.fixture_steps import tidy_fixtures
from reports.run_summary import build_rows, html_summary, previous_points, text_summary
from reports.targets import Targets
from reports.trend import TrendPoint
from reports.verdict import inconclusive, judge

LIMITS = {"min_healthy_capacity": 0.8, "max_failover_time_s": 30.0, "max_error_rate": 0.05}
STOP = judge(Targets("test_stop_vm", LIMITS),
             {"min_healthy_capacity": 5 / 6, "failover_time_s": 0.2, "error_rate": 0.01},
             time_scale=0.05)  # fmt: skip
ZONE = judge(Targets("test_zone_down", LIMITS),
             {"min_healthy_capacity": 4 / 6, "failover_time_s": 0.1, "error_rate": 0.01},
             time_scale=0.05)  # fmt: skip
SPOT = inconclusive(Targets("test_spot_eviction", LIMITS), "fault not exercised: no VM went")
DETAILS = {"test_stop_vm": {"fault": "stop"}, "test_zone_down": {"fault": "zone-down"}}
IDENTITY = {"fleet": "emulator", "subscription": "0000-c0de", "resource_group": "rg",
            "scale_set": "vmss-web", "flexchaos_version": "0.1.0", "git_commit": "abc123",
            "seed": 7, "time_scale": 0.05, "started": "2026-12-03T17:00:00+00:00",
            "ended": "2026-12-03T17:02:00+00:00"}  # fmt: skip
REVIEW = [
    {"check": "zones", "status": "pass", "severity": "none", "finding": "3 zones", "change": ""},
    {"check": "automatic repairs", "status": "warn", "severity": "medium",
     "finding": "disabled", "change": "enable automaticRepairsPolicy"},
]  # fmt: skip


def point(experiment: str, state: str, failover: float, time: str) -> TrendPoint:
    return TrendPoint(
        run=time, time=time, experiment=experiment, state=state, failover_time_s=failover,
        recovery_time_s=30.0, failover_time_wall_s=None, recovery_time_wall_s=None,
        min_healthy_capacity=None, error_rate=None, p95_latency_ms=None, time_scale=0.05,
        limits={},
    )  # fmt: skip


def test_one_row_per_experiment_each_figure_against_its_limit() -> None:
    before = [point("test_stop_vm", "failed", 3.0, "2026-12-03T16:00:00+00:00"),
              point("test_stop_vm", "passed", 5.0, "2026-12-03T17:00:05+00:00")]  # this run
    rows = build_rows([STOP, ZONE, SPOT], DETAILS,
                      previous_points(before, IDENTITY["started"]))  # fmt: skip
    text = text_summary(rows, identity=IDENTITY, exit_code=3, review=REVIEW)
    lines = text.splitlines()
    assert lines[0].startswith("run: fleet emulator · subscription 0000-c0de · resource group rg")
    assert "commit abc123 · seed 7 · time scale 0.05" in lines[0]
    assert "3 experiments: 1 met, 1 missed, 1 inconclusive, 0 error" in text
    stop = next(line for line in lines if line.startswith("test_stop_vm "))
    # 0.2 s wall = 4 s platform; the previous run (16:00, not this run's own point) was 3 s
    assert "stop" in stop and "MET" in stop and "✓ 83% ≥ 80%" in stop and "✓ 4.0 s ≤ 30" in stop
    assert "was missed, failover +1.0 s" in stop
    zone = next(line for line in lines if line.startswith("test_zone_down "))
    assert "first run" in zone and "MISSED" in zone and "✗ 67% ≥ 80%" in zone
    assert "test_zone_down: min_healthy_capacity: measured 0.667, limit >= 0.8" in text
    spot = next(line for line in lines if line.startswith("test_spot_eviction "))
    assert "INCONCLUSIVE" in spot and "– not judged" in spot
    assert "test_spot_eviction: fault not exercised: no VM went" in text
    # the review: only what needs a change at the end (every check was printed live)
    assert "design review (a checklist, not an experiment): 1 pass, 1 warn, 0 fail" in text
    assert "[!] automatic repairs (warn, severity medium): disabled" in text
    assert "change: enable automaticRepairsPolicy" in text and "[x] zones" not in text
    assert text.rstrip().endswith("game day INCONCLUSIVE (nothing may pass on it), exit 3")


def test_the_html_page_has_identity_table_and_checklist() -> None:
    rows = build_rows([STOP, SPOT], DETAILS, {})
    page = html_summary(rows, identity={**IDENTITY, "pipeline_url": "https://ci/run/1"},
                        exit_code=3, review=REVIEW,
                        links={"report": "awesome/index.html"})  # fmt: skip
    assert page.startswith("<!doctype html>") and "<script" not in page
    assert '<a href="https://ci/run/1">' in page and '<a href="awesome/index.html">' in page
    assert "vmss-web" in page and "abc123" in page and "127.0.0.1" not in page
    assert "✓ 4.0 s ≤ 30" in page and "⚠ inconclusive" in page
    assert "what to change" in page and "enable automaticRepairsPolicy" in page


def test_pipeline_identity_from_github_and_azure_pipelines() -> None:
    github = ci_run({"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r",
                     "GITHUB_RUN_ID": "42", "GITHUB_EVENT_NAME": "schedule"})  # fmt: skip
    assert github == {"ci": "GitHub Actions", "trigger": "schedule",
                      "pipeline_url": "https://github.com/o/r/actions/runs/42"}  # fmt: skip
    azure = ci_run({"SYSTEM_COLLECTIONURI": "https://dev.azure.com/org/",
                    "SYSTEM_TEAMPROJECT": "proj", "BUILD_BUILDID": "7",
                    "BUILD_REASON": "IndividualCI"})  # fmt: skip
    assert azure["pipeline_url"] == "https://dev.azure.com/org/proj/_build/results?buildId=7"
    assert azure["trigger"] == "IndividualCI" and azure["ci"] == "Azure Pipelines"
    assert ci_run({}) == {}


def test_fixture_plumbing_is_not_shown_as_steps(tmp_path: Path) -> None:
    container = {
        "uuid": "c", "children": ["t"],
        "befores": [{"name": "pytestconfig", "status": "passed"},
                    {"name": "flexchaos_fleet", "status": "passed"},
                    {"name": "flexchaos_settings", "status": "broken",
                     "statusDetails": {"message": "bad"}}],
        "afters": [{"name": "flexchaos_settings::<lambda>", "status": "passed"}],
    }  # fmt: skip
    path = tmp_path / "x-container.json"
    path.write_text(json.dumps(container))
    assert tidy_fixtures(tmp_path) == 2
    data = json.loads(path.read_text())
    assert [b["name"] for b in data["befores"]] == [
        "Fleet: start the emulator or reach the Azure scale set", "flexchaos_settings"
    ]  # fmt: skip
    assert data["afters"] == []
