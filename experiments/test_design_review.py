"""Read-only design review of the scale set: the resilience basics, before any fault."""

import allure

from fleet.review import review, text
from reports.allure_attachments import label_experiment


def test_design_review(fleet_target):
    """Fails when a check fails (warnings are reported, not failed)."""
    label_experiment(fault="design review", story="Design review", severity="normal")
    allure.dynamic.title("Design review (read-only)")
    findings = review(fleet_target)
    report = text(findings)
    allure.attach(report, "design review", allure.attachment_type.TEXT, "txt")
    print(report)
    failed = [f for f in findings if f.status == "fail"]
    assert not failed, "design review failed: " + "; ".join(f.line() for f in failed)
