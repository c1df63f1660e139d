"""Metrics on constructed timelines whose answers are known by construction."""

from __future__ import annotations

import math

import pytest

from flexchaos.errors import FlexchaosError
from probes.measures import Clock
from probes.metrics import compute_metrics
from probes.timeline import Timeline
from tests.probes import constructed as c

INJECT, REVERT = 10.0, 20.0


def ordinary() -> Timeline:
    """Stop vm-2 at 10 s: 0.5 s of failures, vm-2 out of capacity 10.25–21 s, revert at 20 s."""
    return Timeline.build(
        requests=c.requests(30.0, failing=[(10.0, 10.5)], absent={"vm-2": (10.0, 21.0)}),
        capacity=c.capacity(30.0, down={"vm-2": (10.25, 21.0)}),
        events=c.events((INJECT, "inject"), (10.3, "injected"), (REVERT, "revert")),
    )


def test_ordinary_stop_and_revert() -> None:
    m = compute_metrics(ordinary())
    assert m.baseline_instances == 6
    assert m.failover_time_s == pytest.approx(0.49, abs=1e-6)  # last failed request starts 10.49
    assert len(m.disruptions) == 1 and m.disruptions[0].failures == 50
    assert m.min_healthy_capacity == pytest.approx(5 / 6)
    assert m.recovery is not None and m.recovery.start_kind == "revert"
    assert m.recovery_time_s == pytest.approx(1.0)  # first full tick at 21.0
    assert m.phases["baseline"].error_rate == 0.0
    assert m.phases["fault"].failures == 50 and m.phases["fault"].requests == 1000
    assert m.phases["fault"].error_rate == pytest.approx(0.05)
    assert m.phases["recovery"].error_rate == 0.0
    assert m.overall.error_rate == pytest.approx(50 / 3000)
    assert m.phases["baseline"].latency_ms[95] == pytest.approx(5.0)
    assert m.min_serving_capacity == pytest.approx(5 / 6)
    measured = m.as_measurements()
    assert measured["failover_time_s"] == pytest.approx(0.49, abs=1e-6)
    assert measured["error_rate_fault"] == pytest.approx(0.05)
    assert measured["p95_latency_ms_baseline"] == pytest.approx(5.0)
    assert set(m.resolutions) >= {"failover_time_s", "min_healthy_capacity", "error_rate"}
    assert m.resolutions["min_healthy_capacity"].step_s == pytest.approx(0.25)


def test_durations_convert_to_platform_seconds() -> None:
    measured = compute_metrics(ordinary()).as_measurements(Clock(0.05))
    assert measured["recovery_time_s"] == pytest.approx(20.0)  # 1 s wall at scale 0.05
    assert measured["error_rate_overall"] == pytest.approx(50 / 3000)  # ratios are not scaled


def test_no_errors_at_all() -> None:
    timeline = Timeline.build(
        requests=c.requests(30.0),
        capacity=c.capacity(30.0),
        events=c.events((INJECT, "inject"), (REVERT, "revert")),
    )
    m = compute_metrics(timeline)
    assert m.failover_time_s == 0.0
    assert m.disruptions == []
    assert m.overall.error_rate == 0.0
    assert m.min_healthy_capacity == 1.0
    assert m.recovery_time_s == 0.0 and m.recovered is True


def test_errors_that_never_stop() -> None:
    timeline = Timeline.build(
        requests=c.requests(30.0, failing=[(10.2, 99.0)]),
        capacity=c.capacity(30.0, down={"vm-2": (10.25, 99.0)}),
        events=c.events((INJECT, "inject")),
    )
    m = compute_metrics(timeline)
    assert m.failover_time_s == math.inf
    assert m.failovers[0].disruption is not None and not m.failovers[0].disruption.ended
    assert m.as_measurements()["failover_time_s"] == math.inf
    assert m.phases["fault"].error_rate == pytest.approx(1980 / 2000)


def test_errors_stop_too_close_to_the_end_are_not_an_ended_disruption() -> None:
    """The last failure at 29.49 s and traffic until 30 s: no full quiet window was observed."""
    timeline = Timeline.build(
        requests=c.requests(30.0, failing=[(10.0, 29.5)]),
        events=c.events((INJECT, "inject")),
    )
    assert compute_metrics(timeline).failover_time_s == math.inf
    assert compute_metrics(timeline, quiet_window_s=0.3).failover_time_s == pytest.approx(19.49)


def test_two_separate_disruptions() -> None:
    timeline = Timeline.build(
        requests=c.requests(30.0, failing=[(10.0, 10.3), (15.0, 15.2)]),
        capacity=c.capacity(30.0),
        events=c.events((INJECT, "inject"), (REVERT, "revert")),
    )
    m = compute_metrics(timeline, quiet_window_s=1.0)
    assert [d.failures for d in m.disruptions] == [30, 20]
    assert m.failover_time_s == pytest.approx(5.19, abs=1e-6)  # the end of the last one
    # the default quiet window (Azure's 5 s probe × 1) is longer than the gap: one disruption
    merged = compute_metrics(timeline)
    assert len(merged.disruptions) == 1
    assert merged.failover_time_s == pytest.approx(5.19, abs=1e-6)


def test_fault_with_no_traffic() -> None:
    timeline = Timeline.build(
        requests=c.requests(9.0),
        capacity=c.capacity(30.0, down={"vm-2": (10.25, 21.0)}),
        events=c.events((INJECT, "inject"), (REVERT, "revert")),
    )
    m = compute_metrics(timeline)
    assert m.failover_time_s is None and m.failovers[0].traffic_after is False
    measured = m.as_measurements()
    assert measured["failover_time_s"] is None
    assert measured["error_rate_fault"] is None and measured["p95_latency_ms_fault"] is None
    assert measured["error_rate_baseline"] == 0.0
    assert m.recovery_time_s == pytest.approx(1.0)  # capacity is measured without traffic


def test_capacity_never_recovering() -> None:
    timeline = Timeline.build(
        requests=c.requests(30.0, failing=[(10.0, 10.5)]),
        capacity=c.capacity(30.0, down={"vm-2": (10.25, 99.0)}),
        events=c.events((INJECT, "inject"), (REVERT, "revert")),
    )
    m = compute_metrics(timeline)
    assert m.recovered is False
    assert m.recovery_time_s == math.inf
    assert m.as_measurements()["recovery_time_s"] == math.inf
    assert m.min_healthy_capacity == pytest.approx(5 / 6)


def test_platform_heals_measures_recovery_from_injection() -> None:
    """No revert (e.g. automatic repairs): degraded 12–30 s, full again at 30 s."""
    timeline = Timeline.build(
        capacity=c.capacity(40.0, down={"vm-2": (12.0, 30.0)}),
        events=c.events((INJECT, "inject")),
    )
    m = compute_metrics(timeline)
    assert m.recovery is not None and m.recovery.start_kind == "inject"
    assert m.recovery_time_s == pytest.approx(20.0)


def test_capacity_that_flaps_recovers_only_for_good() -> None:
    timeline = Timeline.build(
        capacity=c.capacity(40.0, down={"vm-2": (10.25, 21.0), "vm-3": (25.0, 26.0)}),
        events=c.events((INJECT, "inject"), (REVERT, "revert")),
    )
    assert compute_metrics(timeline).recovery_time_s == pytest.approx(6.0)


def test_failures_that_started_before_the_injection_do_not_count() -> None:
    rows = c.requests(30.0, failing=[(5.0, 5.1)])
    rows.append(
        {"start": c.T0 + 9.95, "latency_ms": 100.0, "ok": False, "status": 0, "served_by": None,
         "error": "reset", "source": "probe"}
    )  # fmt: skip
    timeline = Timeline.build(requests=rows, events=c.events((INJECT, "inject")))
    m = compute_metrics(timeline)
    assert m.disruptions == []  # the one in flight at the injection started before it
    assert m.failover_time_s == 0.0


def test_several_injections_are_one_fault_timed_from_the_first() -> None:
    timeline = Timeline.build(
        requests=c.requests(40.0, failing=[(10.0, 10.2), (25.0, 25.7)]),
        events=c.events((10.0, "inject"), (25.0, "inject")),
    )
    m = compute_metrics(timeline)
    assert [round(f.time_s or 0, 2) for f in m.failovers] == [15.69]
    assert m.failover_time_s == pytest.approx(15.69, abs=1e-6)


def test_explicit_phase_events_define_phases() -> None:
    timeline = Timeline.build(
        requests=c.requests(30.0, failing=[(2.0, 3.0)]),
        events=[
            {"time": c.T0 + 5.0, "kind": "phase", "detail": "baseline"},
            {"time": c.T0 + 10.0, "kind": "inject"},
            {"time": c.T0 + 10.0, "kind": "phase", "detail": "fault"},
            {"time": c.T0 + 20.0, "kind": "phase", "detail": "recovery"},
        ],
    )
    m = compute_metrics(timeline)
    assert m.phases["baseline"].requests == 500  # requests before the first mark are in no phase
    assert m.phases["baseline"].error_rate == 0.0
    assert m.overall.requests == 3000 and m.overall.failures == 100


def test_no_injection_means_no_failover_figure() -> None:
    m = compute_metrics(Timeline.build(requests=c.requests(5.0)))
    assert m.failover_time_s is None and m.recovery is None
    assert m.as_measurements()["error_rate_baseline"] == 0.0


def test_serving_capacity_from_traffic_alone_skips_windows_without_requests() -> None:
    rows = c.requests(10.0) + c.requests(30.0, since=20.0, absent={"vm-2": (22.0, 25.0)})
    m = compute_metrics(Timeline.build(requests=rows, events=c.events((21.0, "inject"))))
    curve = m.serving_capacity
    assert m.baseline_instances is None  # no capacity samples: denominator from baseline traffic
    assert m.min_serving_capacity == pytest.approx(5 / 6)
    gap = curve[(curve["time"] > c.T0 + 11.0) & (curve["time"] <= c.T0 + 20.0)]
    assert gap.empty  # no request at all in those windows: no evidence, not zero capacity
    low = curve[curve["capacity"] < 1]
    assert low["time"].min() >= c.T0 + 23.0 and low["time"].max() <= c.T0 + 25.0
    assert m.resolutions["min_serving_capacity"].step_s == 1.0


def test_sparse_traffic_leaves_the_failover_not_judged() -> None:
    dense = compute_metrics(ordinary())
    assert dense.not_judged == {}
    assert dense.resolutions["failover_time_s"].step_s == pytest.approx(0.01)
    sparse = Timeline.build(
        requests=c.requests(30.0, every=0.5, failing=[(10.0, 11.0)]),
        capacity=c.capacity(30.0, down={"vm-2": (10.25, 21.0)}),
        events=c.events((INJECT, "inject"), (REVERT, "revert")),
    )
    why = compute_metrics(sparse).not_judged["failover_time_s"]
    assert why.startswith("too little traffic to see a probe interval: 1.7 new flows")


def test_empty_timeline_measures_nothing() -> None:
    measured = compute_metrics(Timeline.build()).as_measurements()
    assert all(v is None for v in measured.values())


def test_bad_window_is_refused() -> None:
    with pytest.raises(FlexchaosError, match="quiet_window_s"):
        compute_metrics(ordinary(), quiet_window_s=0)
