"""Verdicts: pass, fail, missing and broken; durations judged in platform seconds."""

from __future__ import annotations

import json
import math

import pytest

from flexchaos.errors import Inconclusive, MissedTargets
from reports.targets import Targets
from reports.verdict import Verdict, inconclusive, judge

TARGETS = Targets(
    "test_stop_vm",
    {
        "min_healthy_capacity": 0.8,
        "max_failover_time_s": 30.0,
        "max_error_rate": 0.05,
        "max_p95_latency_ms": 500.0,
        "max_recovery_time_s": 180.0,
    },
)
GOOD = {
    "min_healthy_capacity": 5 / 6,
    "failover_time_s": 0.4,  # wall seconds: 20 platform seconds at 0.02
    "error_rate": 0.01,
    "p95_latency_ms": 40.0,
    "recovery_time_s": 3.0,  # 150 platform seconds at 0.02
}


def row(verdict: Verdict, target: str):
    return next(r for r in verdict.rows if r.target == target)


def test_all_targets_met_passes_and_converts_wall_to_platform_seconds() -> None:
    verdict = judge(TARGETS, GOOD, time_scale=0.02)
    assert verdict.state == "passed" and verdict.passed
    failover = row(verdict, "max_failover_time_s")
    assert failover.clock == "platform"
    assert failover.measured == pytest.approx(20.0)
    assert failover.measured_wall == pytest.approx(0.4)
    assert "20.0 s platform (0.40 s wall)" in failover.measured_text()
    # non-durations are not scaled
    assert row(verdict, "max_p95_latency_ms").measured == 40.0
    assert row(verdict, "max_error_rate").clock == ""
    verdict.check()  # does not raise
    assert verdict.failure_message() == ""


def test_same_wall_value_fails_when_the_time_scale_makes_it_long() -> None:
    # 0.4 wall seconds at scale 0.01 = 40 platform seconds > 30
    verdict = judge(TARGETS, GOOD, time_scale=0.01)
    assert verdict.state == "failed"
    # and 3.0 wall seconds of recovery = 300 platform seconds > 180
    assert [r.target for r in verdict.missed()] == ["max_failover_time_s", "max_recovery_time_s"]
    on_azure = judge(TARGETS, {**GOOD, "failover_time_s": 25.0, "recovery_time_s": 100.0})
    assert on_azure.passed
    assert row(on_azure, "max_failover_time_s").measured_text() == "25.0 s"


def test_minimum_and_maximum_bounds_are_inclusive_and_directional() -> None:
    verdict = judge(TARGETS, {**GOOD, "min_healthy_capacity": 0.8, "error_rate": 0.05})
    assert verdict.passed
    low = judge(TARGETS, {**GOOD, "min_healthy_capacity": 4 / 6}, time_scale=0.02)
    assert low.state == "failed"
    miss = row(low, "min_healthy_capacity")
    assert not miss.passed and miss.comparison == ">="
    with pytest.raises(
        MissedTargets, match=r"min_healthy_capacity: measured 0\.667, limit >= 0\.8"
    ):
        low.check()


@pytest.mark.parametrize("value", [None, math.nan, "n/a"])
def test_missing_measurement_is_not_judged_and_never_passes(value: object) -> None:
    measured = {**GOOD, "p95_latency_ms": value}
    if value is None:
        del measured["p95_latency_ms"]
    verdict = judge(TARGETS, measured, time_scale=0.02)
    assert verdict.state == "inconclusive" and not verdict.passed and verdict.exit_code == 3
    missing = row(verdict, "max_p95_latency_ms")
    assert missing.measured is None and not missing.passed and not missing.judged
    assert "p95_latency_ms" in missing.reason
    assert "NOT JUDGED" in verdict.text_table()
    assert "max_p95_latency_ms" in verdict.failure_message()


def test_a_miss_outweighs_a_gap_and_a_gap_outweighs_a_pass() -> None:
    gap = {"failover_time_s": "capacity samples 40 s apart (limit 5 s)"}
    verdict = judge(TARGETS, GOOD, time_scale=0.02, not_judged=gap)
    assert verdict.state == "inconclusive"
    assert "capacity samples 40 s apart" in row(verdict, "max_failover_time_s").reason
    missed = judge(TARGETS, {**GOOD, "error_rate": 0.5}, time_scale=0.02, not_judged=gap)
    assert missed.state == "failed" and missed.exit_code == 1
    assert judge(Targets("t", {}), GOOD).state == "inconclusive"  # no target: nothing judged


def test_never_ended_is_shown_as_such_and_misses_an_upper_bound() -> None:
    verdict = judge(TARGETS, {**GOOD, "failover_time_s": math.inf}, time_scale=0.02)
    failover = row(verdict, "max_failover_time_s")
    assert verdict.state == "failed" and failover.judged and not failover.passed
    assert failover.measured_text() == "never ended"
    again = Verdict.from_dict(json.loads(verdict.to_json()))
    assert row(again, "max_failover_time_s").measured_text() == "never ended"


def test_inconclusive_is_distinct_from_failed() -> None:
    verdict = inconclusive(TARGETS, "healthy capacity 5/6 at baseline", time_scale=0.02)
    assert verdict.state == "inconclusive" and not verdict.passed
    assert all(not r.judged and r.result_text() == "NOT JUDGED" for r in verdict.rows)
    with pytest.raises(Inconclusive, match="Inconclusive: healthy capacity 5/6"):
        verdict.check()
    assert not isinstance(Inconclusive("x"), AssertionError)  # Allure: broken, not failed
    assert isinstance(MissedTargets("x"), AssertionError)  # Allure: failed


def test_renderers_agree_and_json_round_trips() -> None:
    verdict = judge(TARGETS, {**GOOD, "error_rate": 0.2}, time_scale=0.02)
    text, md, page = verdict.text_table(), verdict.markdown_table(), verdict.html_table()
    for target in TARGETS.limits:
        assert target in text and target in md and target in page
    assert text.splitlines()[0] == "test_stop_vm: FAILED"
    assert "| `max_error_rate` | <= 0.05 | 0.2 | ❌ fail |" in md
    assert "wall = platform x 0.02" in text
    assert page.count("<tr>") == 1 + len(verdict.rows)
    data = json.loads(verdict.to_json())
    assert data["state"] == "failed" and data["time_scale"] == 0.02
    assert Verdict.from_dict(data) == verdict


def test_nan_measurements_serialise_as_null() -> None:
    verdict = judge(TARGETS, {**GOOD, "p99_latency_ms": math.nan})
    data = json.loads(verdict.to_json())
    assert data["measured"]["p99_latency_ms"] is None


def test_bad_time_scale_is_refused() -> None:
    with pytest.raises(ValueError, match="time_scale"):
        judge(TARGETS, GOOD, time_scale=0)


def test_verdict_json_keeps_never_ended_and_the_hypothesis() -> None:
    from dataclasses import replace

    verdict = judge(TARGETS, {**GOOD, "failover_time_s": math.inf}, time_scale=0.02)
    verdict = replace(verdict, hypothesis="A VM goes. Judged by: failover time ≤ 30 s.")
    assert verdict.measured["failover_time_s"] == math.inf  # never ended, not "missing"
    data = json.loads(verdict.to_json())
    assert data["measured"]["failover_time_s"] == "inf"
    again = Verdict.from_dict(data)
    assert again.measured["failover_time_s"] == math.inf
    assert row(again, "max_failover_time_s").measured_text() == "never ended"
    assert again.hypothesis == verdict.hypothesis


def test_an_inconclusive_verdict_never_shows_a_pass() -> None:
    """Figures within their limits on a fault that was not exercised prove nothing."""
    verdict = judge(TARGETS, GOOD, time_scale=0.02).as_inconclusive(
        "fault not exercised: no target VM was seen down"
    )
    assert verdict.state == "inconclusive"
    for table in (verdict.text_table(), verdict.markdown_table(), verdict.html_table()):
        assert "PASS" not in table and "✅" not in table
        assert "UNPROVED" in table or "unproved" in table
