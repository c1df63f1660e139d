"""The job summary and the terminal's closing summary: one table for the whole run (each figure
against its limit), appended to $GITHUB_STEP_SUMMARY, with each verdict table folded below."""

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
    assert "3 experiments: 1 met, 1 missed, 1 inconclusive, 0 error" in text
    assert "| `test_stop_vm` |  | ✅ met | ✓ 10.0 s ≤ 30 | ✓ 1.00% ≤ 5% | first run |" in text
    assert "| `test_zone_down` |  | ❌ missed | ✗ 45.0 s ≤ 30 | ✓ 1.00% ≤ 5% | first run |" in text
    assert "| `test_spot_eviction` |  | ⚠️ inconclusive | – not judged |" in text
    assert "- `test_spot_eviction`: baseline error rate 0.2 > 0.01" in text
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
    assert "test_zone_down  -      MISSED  ✗ 45.0 s ≤ 30  ✓ 1.00% ≤ 5%  first run" in text
    assert "test_zone_down: max_failover_time_s: measured 45.0 s platform" in text
    assert text.count("test_zone_down") == 2  # its row and why: no verdict table repeated
    assert text.rstrip().endswith("game day FAILED (a target was missed), exit 1")
    inconclusive_only = text_summary([PASSED, BROKEN])
    assert "test_spot_eviction  -      INCONCLUSIVE  – not judged" in inconclusive_only
    assert "test_spot_eviction: baseline error rate 0.2 > 0.01" in inconclusive_only
    assert inconclusive_only.rstrip().endswith(
        "game day INCONCLUSIVE (nothing may pass on it), exit 3"
    )  # never "PASSED" while something was not judged


ERRORED = inconclusive(
    Targets("test_deallocate_vm", LIMITS), "emulator went away", state="error"
)  # fmt: skip


def test_the_job_summary_says_the_code_the_run_exits_with_and_who_to_call() -> None:
    """Bad input without a verdict of its own must not read as the verdicts' "PASSED"."""
    text = markdown_summary(
        [PASSED], exit_code=2, problems=["bad input: test_evict: guard refused (spot_only)"]
    )
    assert text.startswith("## flexchaos game day: BAD INPUT (refused before its fault), exit 2")
    assert "**Exit 2: " in text and "Who to call: whoever wrote the game day" in text
    assert "- bad input: test_evict: guard refused (spot_only)" in text
    terminal = text_summary([PASSED], exit_code=2, problems=["bad input: test_evict: x"])
    assert "problem: bad input: test_evict: x" in terminal
    assert terminal.rstrip().endswith("game day BAD INPUT (refused before its fault), exit 2")
    assert "Who to call: whoever wrote the game day" in terminal.splitlines()[-2]


@pytest.mark.parametrize(
    ("verdicts", "code", "call"),
    [
        ([PASSED], 0, "nobody"),
        ([PASSED, FAILED], 1, "the owners of the service"),
        ([PASSED, BROKEN], 3, "the game day's owner"),
        ([PASSED, FAILED, ERRORED], 4, "the flexchaos maintainers"),
    ],
)
def test_each_code_states_who_to_call(verdicts: list, code: int, call: str) -> None:
    text = markdown_summary(verdicts)
    assert f"**Exit {code}: " in text and f"Who to call: {call}" in text


def test_inconclusive_and_errored_experiments_are_listed_with_why() -> None:
    text = markdown_summary([PASSED, BROKEN, ERRORED])
    assert "- `test_spot_eviction`: baseline error rate 0.2 > 0.01" in text
    assert "| `test_deallocate_vm` |  | 💥 error |" in text
    assert "- `test_deallocate_vm`: emulator went away" in text
    terminal = text_summary([PASSED, BROKEN, ERRORED])
    assert "test_deallocate_vm: emulator went away" in terminal
    assert terminal.rstrip().endswith("game day ERROR (the harness failed), exit 4")


def test_the_hypothesis_as_judged_heads_each_experiment() -> None:
    from dataclasses import replace

    shown = "One VM down costs little. Judged by: failover time ≤ 30 s, error rate ≤ 5 %."
    text = markdown_summary([replace(PASSED, hypothesis=shown)])
    head = "<code>test_stop_vm</code> — ✅ passed: hypothesis and verdict table</summary>"
    assert f"{head}\n\n> {shown}\n" in text


def test_the_readme_and_the_reports_page_carry_the_exit_code_table() -> None:
    from reports.exit_codes import markdown_table

    repo = Path(__file__).resolve().parents[2]
    table = markdown_table()
    for doc in ("README.md", "docs/reports.md"):
        assert table in (repo / doc).read_text(), f"{doc}: paste reports.exit_codes' table"
    assert [line.split("|")[1].strip() for line in table.splitlines()[2:]] == [
        "0", "1", "2", "3", "4", "130"
    ]  # fmt: skip
