"""Error rate and latency judged on the fault window, not diluted over the whole run, and an
error rate that never rounds its failures to zero (issue 12, cases 6 and 9)."""

from __future__ import annotations

import math

import pytest

from probes.measures import ERROR_RATE, P95_LATENCY, WHOLE_RUN
from probes.metrics import compute_metrics
from probes.request_stats import failed_text
from probes.timeline import Timeline
from reports.targets import Targets
from reports.verdict import Verdict, judge
from tests.probes import constructed as c

LIMITS = Targets("test_x", {"max_error_rate": 0.05, "max_p95_latency_ms": 1000.0})


def diluted(**failing: object) -> Timeline:
    """60 s of traffic; a VM stopped at 10 s and back at 16 s: 16.7 % of the fault window's
    requests fail, 1.7 % of the whole run's."""
    return Timeline.build(
        requests=c.requests(60.0, failing=[(10.0, 11.0)], **failing),  # type: ignore[arg-type]
        capacity=c.capacity(60.0, down={"vm-2": (10.0, 16.0)}),
        events=c.events((10.0, "inject"), (15.0, "revert")),
    )


def test_the_error_rate_target_judges_the_fault_window_not_the_whole_run() -> None:
    m = compute_metrics(diluted())
    assert m.fault_window is not None and m.fault_window.recovered
    assert m.fault_window.end == pytest.approx(c.T0 + 16.0)  # healthy capacity back
    measured = m.as_measurements()
    assert measured[ERROR_RATE.name] == pytest.approx(100 / 601)  # 10.00 … 16.00 inclusive
    assert measured[ERROR_RATE.in_phase(WHOLE_RUN).name] == pytest.approx(100 / 6000)
    verdict = judge(LIMITS, measured, details=m.details())
    assert verdict.state == "failed"  # 1.7 % over the whole run passed a 5 % limit before
    assert verdict.rows[0].measured_text() == "100 of 601 failed (16.6 %)"
    assert "max_error_rate: measured 100 of 601 failed (16.6 %), limit <= 0.05" in verdict.reason


def test_the_latency_target_judges_the_fault_window_not_the_whole_run() -> None:
    """Requests that hang for 2 s (connect timeouts to a dead backend) are 17 % of the fault
    window and under 2 % of the run: the whole-run p95 would hide them."""
    m = compute_metrics(diluted(failed_latency_ms=2000.0))
    measured = m.as_measurements()
    assert measured[P95_LATENCY.name] == pytest.approx(2000.0)
    assert measured[P95_LATENCY.in_phase(WHOLE_RUN).name] == pytest.approx(5.0)
    verdict = judge(LIMITS, measured)
    assert [r.passed for r in verdict.rows] == [False, False]


def test_a_window_that_never_recovered_runs_to_the_end_of_the_observation() -> None:
    timeline = Timeline.build(
        requests=c.requests(30.0, failing=[(10.0, 10.5)]),
        capacity=c.capacity(30.0, down={"vm-2": (10.25, 99.0)}),
        events=c.events((10.0, "inject"), (20.0, "revert")),
    )
    m = compute_metrics(timeline)
    assert m.recovery_time_s == math.inf
    assert m.fault_window is not None and not m.fault_window.recovered
    assert m.fault_window.end == pytest.approx(c.T0 + 29.99 + 0.005)  # the last request's end
    assert m.fault is not None and m.fault.requests == 2000


def test_a_fault_that_never_dented_capacity_still_covers_its_hold() -> None:
    """The platform heals (no revert) and capacity never dropped: the window runs to the
    lifecycle's `recovered` event after the hold, not to the first sample after the injection."""
    timeline = Timeline.build(
        requests=c.requests(30.0, failing=[(18.0, 18.3)]),
        capacity=c.capacity(30.0),
        events=c.events((10.0, "inject"), (25.0, "recovered")),
    )
    m = compute_metrics(timeline, quiet_window_s=1.0)
    assert m.fault_window is not None and m.fault_window.end == pytest.approx(c.T0 + 25.0)
    assert m.failover_time_s == pytest.approx(8.29, abs=1e-6)
    assert m.fault is not None and m.fault.failures == 30


def test_an_error_rate_never_rounds_its_failures_to_zero() -> None:
    """4 of 9,812 requests failed: the verdict says so, not "0"."""
    timeline = Timeline.build(
        requests=c.requests(19.812, since=10.0, every=0.001, failing=[(10.0, 10.0035)]),
        events=c.events((10.0, "inject")),
    )
    m = compute_metrics(timeline)
    assert m.details()[ERROR_RATE.name] == "4 of 9,812 failed (0.04 %)"
    verdict = judge(Targets("test_x", {"max_error_rate": 0.05}), m.as_measurements(),
                    details=m.details())  # fmt: skip
    assert verdict.passed
    assert "4 of 9,812 failed (0.04 %)" in verdict.text_table()
    assert "4 of 9,812 failed (0.04 %)" in verdict.markdown_table()
    assert "4 of 9,812 failed (0.04 %)" in verdict.html_table()
    assert Verdict.from_dict(verdict.to_dict()).rows == verdict.rows  # verdict.json keeps it


@pytest.mark.parametrize(
    ("failures", "requests", "text"),
    [
        (0, 2387, "0 of 2,387 failed (0 %)"),
        (1, 250_000, "1 of 250,000 failed (0.0004 %)"),
        (4, 9812, "4 of 9,812 failed (0.04 %)"),
        (100, 601, "100 of 601 failed (16.6 %)"),
        (5, 5, "5 of 5 failed (100 %)"),
    ],
)
def test_failed_text(failures: int, requests: int, text: str) -> None:
    assert failed_text(failures, requests) == text
