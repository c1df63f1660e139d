"""The Allure glue writes what a reviewer needs into a real results dir (inner pytest run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

INNER = textwrap.dedent(
    """
    import json

    import pytest

    from probes.timeline import Timeline
    from reports import allure_attachments as aa
    from reports.chart import render_timeline
    from reports.targets import Targets
    from reports.verdict import inconclusive, judge
    from tests.reports import timelines as tl

    LIMITS = {"min_healthy_capacity": 0.8, "max_failover_time_s": 30.0, "max_error_rate": 0.05}


    def test_stop_vm(tmp_path):
        aa.describe(title="Stop one VM", scenario="Stop vmss-web_2.", hypothesis="5/6 serve.")
        aa.label_experiment(fault="stop", story="one VM stopped", zones=["2"])
        aa.set_parameters(vms=[tl.VICTIM], seed=42, scale_set="vmss-web (emulator)")
        aa.attach_evidence({"vms": 6}, {"vms": 6}, {"changed": []})
        journal = tmp_path / "journal.jsonl"
        journal.write_text(json.dumps({"fault": "stop", "vm": tl.VICTIM}) + "\\n")
        aa.attach_journal(journal)
        stats = tmp_path / "run_stats.csv"
        stats.write_text("Type,Name,Request Count\\nGET,/,1200\\n")
        assert aa.attach_locust_stats([stats, tmp_path / "absent.csv"]) == [stats]
        requests = tl.requests_frame()
        aa.attach_requests_csv(requests)
        timeline = Timeline.build(requests, tl.capacity_frame(), tl.events_frame())
        png = render_timeline(timeline, title="x")
        verdict = judge(
            Targets("test_stop_vm", LIMITS),
            {"min_healthy_capacity": 5 / 6, "failover_time_s": 0.9, "error_rate": 0.01},
            time_scale=0.02,
        )
        aa.present_verdict(verdict, scenario="Stop vmss-web_2.", hypothesis="5/6 serve.",
                           chart_png=png)
        verdict.check()


    def test_zone_down():
        verdict = inconclusive(Targets("test_zone_down", LIMITS), "baseline capacity 5/6")
        aa.present_verdict(verdict, scenario="Zone 1 down.", hypothesis="4/6 serve.")
        verdict.check()


    def test_harness_error():
        raise RuntimeError("emulator went away")


    def test_fault_not_exercised():
        measured = {"min_healthy_capacity": 1.0, "failover_time_s": 0.0, "error_rate": 0.0}
        verdict = judge(Targets("test_fault_not_exercised", LIMITS), measured, time_scale=0.02)
        verdict = verdict.as_inconclusive("fault not exercised: no target VM was seen down")
        aa.present_verdict(verdict, scenario="Chaos Studio shutdown.", hypothesis="It lands.")
        verdict.check()


    def test_bad_input():
        pytest.fail("Bad input: test_bad_input: guard refused (spot_only): not Spot",
                    pytrace=False)


    def test_design_review_check():
        pytest.fail("Design review failed: zones: 1 zone(s) (change: spread the set)",
                    pytrace=False)
    """
)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("inner")
    (work / "test_inner.py").write_text(INNER)
    results = work / "allure-results"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:flexchaos", "-p", "no:cacheprovider",
         f"--alluredir={results}", "test_inner.py"],
        cwd=work, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr  # failed, broken and errors
    from reports.allure_attachments import write_results_metadata

    write_results_metadata(
        results,
        environment={"fleet": "emulator", "arm_url": "http://127.0.0.1:1", "time scale": 0.02},
    )
    return results


def load_result(results: Path, name: str) -> dict:
    for path in results.glob("*-result.json"):
        data = json.loads(path.read_text())
        if data["name"] == name or data.get("fullName", "").endswith(name):
            return data
    raise AssertionError(f"no result for {name} in {sorted(p.name for p in results.iterdir())}")


def attachments(result: dict) -> dict[str, dict]:
    found = {a["name"]: a for a in result.get("attachments", [])}
    for step in result.get("steps", []):
        found.update(attachments(step))
    return found


def test_stop_vm_result_carries_title_labels_parameters_and_attachments(results: Path) -> None:
    result = load_result(results, "Stop one VM")
    assert result["status"] == "failed"
    assert "Missed resilience targets: max_failover_time_s" in result["statusDetails"]["message"]
    labels = {(label["name"], label["value"]) for label in result["labels"]}
    assert {("epic", "Resilience game day"), ("feature", "stop"), ("story", "one VM stopped"),
            ("severity", "critical"), ("tag", "zone 2")} <= labels  # fmt: skip
    params = {p["name"]: p["value"] for p in result["parameters"]}
    assert params["VMs chosen"] == "'vmss-web_2'" and params["seed"] == "42"
    # shown, but only the scale set keys the experiment's history: VMs and seed change per run
    excluded = {p["name"] for p in result["parameters"] if p.get("excluded")}
    assert excluded == {"VMs chosen", "seed"}
    # the verdict table and the chart come first in the description
    description = result["descriptionHtml"]
    assert description.index("flexchaos-verdict") < description.index("data:image/png;base64,")
    assert description.index("data:image/png") < description.index("Scenario.")
    files = attachments(result)
    expected = {"verdict table", "verdict (text)", "verdict.json", "timeline chart",
                "requests (per request)", "locust: run_stats.csv", "evidence before",
                "evidence after", "drift (before → after)", "journal"}  # fmt: skip
    assert expected <= set(files)
    for attachment in files.values():
        assert (results / attachment["source"]).stat().st_size > 0
    chart = (results / files["timeline chart"]["source"]).read_bytes()
    assert chart.startswith(b"\x89PNG")
    verdict = json.loads((results / files["verdict.json"]["source"]).read_text())
    assert verdict["state"] == "failed" and verdict["time_scale"] == 0.02
    csv = (results / files["requests (per request)"]["source"]).read_text().splitlines()
    assert csv[0] == "start,latency_ms,ok,status,served_by,error,source" and len(csv) == 1201


def test_inconclusive_is_broken_not_failed(results: Path) -> None:
    result = load_result(results, "test_zone_down")
    assert result["status"] == "broken"
    assert "Inconclusive: baseline capacity 5/6" in result["statusDetails"]["message"]


def test_results_metadata_files(results: Path) -> None:
    env = (results / "environment.properties").read_text()
    assert "fleet=emulator\n" in env and "arm_url=http\\://127.0.0.1\\:1\n" in env
    assert "time\\ scale=0.02\n" in env
    cats = json.loads((results / "categories.json").read_text())
    assert [c["name"] for c in cats] == [
        "Missed resilience target", "Design review: a check failed",
        "Inconclusive (nothing may pass on it)", "Bad input (nothing touched)", "Harness error",
    ]  # fmt: skip
    assert json.loads((results / "executor.json").read_text())["name"]


def test_categories_sort_the_three_outcomes(results: Path) -> None:
    """Allure 3 takes the first category whose status and message match: check each case."""
    import re

    cats = json.loads((results / "categories.json").read_text())

    def category(name: str) -> str:
        result = load_result(results, name)
        message = result["statusDetails"]["message"]
        for cat in cats:
            if result["status"] in cat["matchedStatuses"] and re.fullmatch(
                cat["messageRegex"], message
            ):
                return cat["name"]
        return "none"

    assert category("Stop one VM") == "Missed resilience target"
    assert category("test_zone_down") == "Inconclusive (nothing may pass on it)"
    assert category("test_harness_error") == "Harness error"
    assert category("test_fault_not_exercised") == "Inconclusive (nothing may pass on it)"
    assert category("test_bad_input") == "Bad input (nothing touched)"
    assert category("test_design_review_check") == "Design review: a check failed"


def test_an_inconclusive_page_opens_with_why_in_one_sentence(results: Path) -> None:
    """Before the table: "Inconclusive — fault not exercised: …", plainly."""
    result = load_result(results, "test_fault_not_exercised")
    assert result["status"] == "broken"
    description = result["descriptionHtml"]
    lead = "<b>Inconclusive — fault not exercised: no target VM was seen down.</b>"
    assert description.index(lead) < description.index("flexchaos-verdict")
    assert description.lstrip().startswith('<p class="flexchaos-lead"')
    # the steady-state case and the generic ones read the same way
    broken = load_result(results, "test_zone_down")["descriptionHtml"]
    assert "<b>Inconclusive — not judged: baseline capacity 5/6.</b>" in broken


@pytest.mark.parametrize(
    ("state", "reason", "sentence"),
    [
        ("inconclusive", "steady state did not hold (no fault injected): healthy capacity 5/6 "
         "is not full", "Inconclusive — steady state did not hold: healthy capacity 5/6 is not "
         "full; no fault was injected."),
        ("inconclusive", "not judged: failover_time_s: 2 requests per VM per probe interval",
         "Inconclusive — not judged: failover_time_s: 2 requests per VM per probe interval."),
        ("inconclusive", "dry run: the plan was printed; nothing was injected or judged",
         "Inconclusive — not judged: dry run: the plan was printed; nothing was injected or "
         "judged."),
        ("error", "emulator went away", "Harness error — no figure can be trusted: emulator "
         "went away."),
    ],
)  # fmt: skip
def test_the_verdict_sentence_says_plainly_why(state: str, reason: str, sentence: str) -> None:
    from reports.allure_attachments import verdict_sentence
    from reports.targets import Targets
    from reports.verdict import inconclusive

    verdict = inconclusive(Targets("x", {"max_error_rate": 0.05}), reason, state=state)
    assert verdict_sentence(verdict) == sentence
