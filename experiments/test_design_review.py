"""Read-only design review of the scale set: a checklist of the resilience basics, before any
fault (finding, severity, what to change). It is not an experiment: the run summary shows it as
a checklist, and Allure files it under its own epic."""


def test_design_review(design_review):
    """Fails when a check fails (warnings are reported, not failed)."""
    design_review.check(design_review())
