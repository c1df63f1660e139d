"""The vocabulary of measures and the one wall ↔ platform clock."""

from __future__ import annotations

import math

import pytest

from probes.measures import (
    DETECTION_TIME,
    ERROR_RATE,
    FAILOVER_TIME,
    LATENCY,
    MEASURES,
    RECOVERY_TIME,
    STATE_TIME,
    TARGETED,
    WHOLE_RUN,
    Clock,
    Measure,
)
from probes.metrics import compute_metrics
from probes.timeline import PHASES, Timeline
from reports.targets import SPECS
from tests.probes import constructed as c


def test_clock_converts_both_ways() -> None:
    clock = Clock(0.05)
    assert clock.platform(1.0) == pytest.approx(20.0)  # 1 s wall = 20 platform s
    assert clock.wall(20.0) == pytest.approx(1.0)
    assert clock.wall(clock.platform(0.37)) == pytest.approx(0.37)
    assert clock.scaled and not Clock().scaled and Clock(1).time_scale == 1.0
    assert clock.platform(math.inf) == math.inf  # never ended stays never ended


@pytest.mark.parametrize("bad", [0, -0.5, math.nan, math.inf, True, "0.05", None])
def test_clock_refuses_a_time_scale_that_is_not_positive_and_finite(bad: object) -> None:
    with pytest.raises(ValueError, match="time_scale must be a positive finite number"):
        Clock(bad)  # type: ignore[arg-type]


def test_each_figure_is_declared_once_and_measured_under_its_name() -> None:
    names = [m.name for m in MEASURES]
    assert len(names) == len(set(names))
    timeline = Timeline.build(
        requests=c.requests(30.0, failing=[(10.0, 10.5)]),
        capacity=c.capacity(30.0, down={"vm-2": (10.25, 21.0)}),
        events=c.events((10.0, "inject"), (20.0, "revert")),
    )
    measured = compute_metrics(timeline).as_measurements()
    per_phase = {
        m.in_phase(p).name for m in (ERROR_RATE, *LATENCY.values()) for p in (*PHASES, WHOLE_RUN)
    }
    assert set(measured) == set(names) | per_phase
    assert set(compute_metrics(timeline).resolutions) == set(names)


def test_only_platform_durations_are_scaled() -> None:
    assert {m.name for m in MEASURES if m.platform_time} == {
        STATE_TIME.name,
        DETECTION_TIME.name,
        FAILOVER_TIME.name,
        RECOVERY_TIME.name,
    }
    clock = Clock(0.02)
    assert FAILOVER_TIME.on_platform(0.4, clock) == pytest.approx(20.0)
    assert LATENCY[95].on_platform(40.0, clock) == 40.0  # real network time, never scaled
    assert ERROR_RATE.in_phase("fault").on_platform(0.5, clock) == 0.5


def test_targets_are_the_measures_that_declare_one() -> None:
    assert [spec.measure for spec in SPECS.values()] == list(TARGETED)
    assert {key: spec.metric for key, spec in SPECS.items()} == {
        "min_healthy_capacity": "min_healthy_capacity",
        "max_detection_time_s": "detection_time_s",
        "max_failover_time_s": "failover_time_s",
        "max_error_rate": "error_rate",
        "max_p95_latency_ms": "p95_latency_ms",
        "max_recovery_time_s": "recovery_time_s",
    }
    assert SPECS["min_healthy_capacity"].comparison == ">="
    assert all(spec.comparison == "<=" for key, spec in SPECS.items() if key.startswith("max_"))
    assert ERROR_RATE.in_phase("fault").target is None  # per-phase figures are never targets
    with pytest.raises(ValueError, match="both a bound and a key"):
        Measure("x", "", "half a target", bound="max")
