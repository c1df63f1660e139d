"""The job summary: appended to $GITHUB_STEP_SUMMARY, one row per experiment plus each table."""

from __future__ import annotations

from pathlib import Path

import pytest

from reports.summary import append_job_summary, markdown_summary, overall_passed, text_summary
from reports.targets import Targets
from reports.verdict import inconclusive, judge

LIMITS = {"max_failover_time_s": 30.0, "max_error_rate": 0.05}
PASSED = judge(Targets("test_stop_vm", LIMITS), {"failover_time_s": 0.2, "error_rate": 0.01},
               time_scale=0.02)  # fmt: skip
FAILED = judge(Targets("test_zone_down", LIMITS), {"failover_time_s": 0.9, "error_rate": 0.01},
               time_scale=0.02)  # fmt: skip
BROKEN = inconclusive(Targets("test_spot_eviction", LIMITS), "baseline error rate 0.2 > 0.01")


def test_appends_to_github_step_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    assert (
        append_job_summary([PASSED, FAILED, BROKEN], report="allure-report/index.html") == summary
    )
    text = summary.read_text()
    assert text.startswith(
        "# earlier step\n## flexchaos game day: FAILED (a target was missed), exit 1"
    )
    assert "1 passed, 1 failed, 1 inconclusive, 0 error" in text
    assert "| `test_stop_vm` | ✅ passed | — |" in text
    assert "| `test_zone_down` | ❌ failed | max_failover_time_s |" in text
    assert "| `test_spot_eviction` | ⚠️ inconclusive | baseline error rate 0.2 > 0.01 |" in text
    assert "45.0 s platform (0.90 s wall)" in text  # the zone-down verdict table follows
    assert "allure-report/index.html" in text
    append_job_summary([PASSED])
    assert summary.read_text().count("## flexchaos game day") == 2


def test_without_the_variable_nothing_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert append_job_summary([PASSED]) is None
    assert markdown_summary([PASSED]).startswith("## flexchaos game day: PASSED, exit 0")


def test_overall_result_and_terminal_summary() -> None:
    assert overall_passed([PASSED])
    assert not overall_passed([PASSED, BROKEN])
    assert not overall_passed([])
    text = text_summary([PASSED, FAILED])
    assert "test_zone_down  FAILED        max_failover_time_s" in text
    assert text.rstrip().endswith("game day FAILED (a target was missed), exit 1")
    inconclusive_only = text_summary([PASSED, BROKEN])
    assert "test_spot_eviction  INCONCLUSIVE  baseline error rate 0.2 > 0.01" in inconclusive_only
    assert inconclusive_only.rstrip().endswith(
        "game day INCONCLUSIVE (nothing may pass on it), exit 3"
    )  # never "PASSED" while something was not judged
