"""A step of the machine's wall clock during a run leaves every figure not judged.

The watch's offset reading is injected where a step must be shown (a test cannot step the
machine's clock); the real reading is checked to show no step on a steady clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from probes.metrics import compute_metrics
from probes.wall_clock import ClockStep, WallClockWatch, read_offset
from tests.probes import constructed as c
from tests.probes.test_evidence import TARGETS, clean_locust, stop_vm, verdict_of


def offsets(*values: float) -> Iterator[float]:
    return iter(values)


def watch_of(*values: float) -> WallClockWatch:
    readings = offsets(*values)
    return WallClockWatch(max_duration_s=10.0, offset=lambda: next(readings))


def test_a_step_of_the_offset_is_recorded_once_with_its_size() -> None:
    watch = watch_of(100.0, 100.0, 103.1, 103.1)
    for _ in range(3):
        watch.check()
    assert [round(s.step_s, 3) for s in watch.steps] == [3.1]


def test_a_backward_step_is_recorded_negative() -> None:
    watch = watch_of(100.0, 98.5, 98.5)
    watch.check()
    watch.check()
    assert [round(s.step_s, 3) for s in watch.steps] == [-1.5]


def test_reading_noise_is_no_step() -> None:
    watch = watch_of(100.0, 100.003, 99.998, 100.001)
    for _ in range(3):
        watch.check()
    assert watch.steps == ()


def test_the_machines_clock_shows_no_step_while_watched() -> None:
    watch = WallClockWatch(max_duration_s=30.0, tick_s=0.01)
    watch.start()
    deadline = time.monotonic() + 20.0
    while watch.tick_stats().ticks < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    watch.stop()
    assert watch.tick_stats().ticks >= 30
    assert watch.steps == ()
    assert abs(read_offset() - (time.time() - time.monotonic())) < 0.05


def with_steps(*steps: float) -> tuple[ClockStep, ...]:
    return tuple(ClockStep(c.T0 + 15.0, s) for s in steps)


@pytest.mark.parametrize("step", [3.1, -3.1, 0.6])
def test_a_stepped_clock_leaves_every_figure_not_judged(step: float) -> None:
    """A 5 s probe interval at time scale 1 tolerates steps adding up to 0.5 s."""
    timeline = stop_vm()
    diagnostics = clean_locust(timeline)
    clean = compute_metrics(timeline, diagnostics=diagnostics)
    assert clean.not_judged == {}
    stepped = compute_metrics(
        timeline, diagnostics=replace(diagnostics, wall_clock_steps=with_steps(step))
    )
    judged_by_targets = {"min_healthy_capacity", "failover_time_s", "error_rate",
                         "p95_latency_ms", "recovery_time_s"}  # fmt: skip
    assert judged_by_targets <= set(stepped.not_judged)
    assert all("wall clock was stepped" in why for why in stepped.not_judged.values())
    verdict = verdict_of(stepped)
    assert verdict.state == "inconclusive"
    assert len(verdict.not_judged()) == len(TARGETS.limits)
    assert "wall clock: stepped 1 time(s)" in " ".join(
        f"{k}: {v}" for k, v in stepped.resolution_notes().items()
    )


def test_small_steps_within_a_tenth_of_a_probe_interval_are_tolerated() -> None:
    timeline = stop_vm()
    diagnostics = clean_locust(timeline)
    small = replace(diagnostics, wall_clock_steps=with_steps(0.2, -0.2))
    assert compute_metrics(timeline, diagnostics=small).not_judged == {}
    adding_up = replace(diagnostics, wall_clock_steps=with_steps(0.2, 0.2, -0.2))
    assert compute_metrics(timeline, diagnostics=adding_up).not_judged != {}
