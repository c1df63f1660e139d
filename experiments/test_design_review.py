"""Read-only design review of the scale set: the resilience basics, before any fault."""

import allure

from fleet.review import review, text


def test_design_review(fleet_target):
    findings = review(fleet_target)
    report = text(findings)
    allure.dynamic.epic("flexchaos game day")
    allure.dynamic.feature("design review")
    allure.attach(report, "design review", allure.attachment_type.TEXT, "txt")
    print(report)
    failed = [f for f in findings if f.status == "fail"]
    assert not failed, "design review failed: " + "; ".join(f.line() for f in failed)
