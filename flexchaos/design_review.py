"""The design review inside a game day: a checklist (finding, severity, what to change), printed
in the terminal, recorded for the run summary and shown in Allure under its own epic — it is a
read-only review of the scale set's design, not an experiment, so it never counts as one.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fleet.review import Finding, review
from fleet.target import FleetTarget
from flexchaos.run_result import RunResult
from reports.allure_attachments import REVIEW_PREFIX as FAILED_PREFIX  # its Allure category
from reports.run_summary import review_html, review_lines

REVIEW_EPIC = "Design review"


def run_review(
    target: FleetTarget,
    result: RunResult,
    write: Callable[[str], None],
    allure_on: bool,
) -> list[Finding]:
    """Review the fleet, print and record the checklist; attach it when Allure is on."""
    findings = review(target)
    checklist = [f.to_dict() for f in findings]
    result.review = checklist
    write("")
    for line in review_lines(checklist):
        write(line)
    if allure_on:
        import allure

        from reports.allure_attachments import label_experiment

        label_experiment(
            fault="design review", story="Design review", severity="normal", epic=REVIEW_EPIC
        )
        allure.dynamic.title("Design review (read-only checklist)")
        allure.dynamic.description_html(review_html(checklist))
        allure.attach("\n".join(review_lines(checklist)), "design review checklist",
                      allure.attachment_type.TEXT, "txt")  # fmt: skip
    return findings


class Review:
    """What the `design_review` fixture gives a test: call it to review, `.check` to judge."""

    def __init__(
        self, target: FleetTarget, result: RunResult, write: Callable[[str], None], allure: bool
    ) -> None:
        self._args = (target, result, write, allure)

    def __call__(self) -> list[Finding]:
        return run_review(*self._args)

    @staticmethod
    def check(findings: list[Finding]) -> None:
        check(findings)


def check(findings: list[Finding]) -> None:
    """Fail the review's test when a check failed (warnings are reported, not failed)."""
    failed = [f for f in findings if f.status == "fail"]
    if failed:
        pytest.fail(
            f"{FAILED_PREFIX}: " + "; ".join(f"{f.check}: {f.reason} (change: {f.change})"
                                             for f in failed),
            pytrace=False,
        )  # fmt: skip
