"""The timeline chart renders real PNGs, and draws exactly what the probes computed."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.artist import Artist
from matplotlib.figure import Figure

from probes.measures import Clock
from probes.metrics import Metrics, compute_metrics
from probes.timeline import REQUEST_COLUMNS, Timeline
from reports.chart import render_timeline, timeline_figure
from tests.reports import timelines as tl

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def stop_vm(events: pd.DataFrame | None = None) -> Timeline:
    return Timeline.build(
        tl.requests_frame(), tl.capacity_frame(), tl.events_frame() if events is None else events
    )


@contextmanager
def drawn(timeline: Timeline, metrics: Metrics | None = None) -> Iterator[Figure]:
    figure = timeline_figure(timeline, metrics, title="x", clock=Clock(0.02))
    try:
        yield figure
    finally:
        plt.close(figure)


def artists(figure: Figure, gid: str) -> list[Artist]:
    return list(figure.findobj(lambda a: a.get_gid() == gid))


def line_data(figure: Figure, gid: str) -> np.ndarray:
    """The (x, y) points of the line with this gid, gaps (NaN) left out."""
    (line,) = artists(figure, gid)
    xy = np.asarray(line.get_xydata(), dtype=float)
    return xy[~np.isnan(xy).any(axis=1)]


def spans(figure: Figure, prefix: str) -> list[tuple[str, float, float]]:
    """(gid, start, end) of the shaded spans whose gid starts with `prefix`, on one panel."""
    top = figure.axes[0]
    return [
        (str(p.get_gid()), round(p.get_x(), 6), round(p.get_x() + p.get_width(), 6))
        for p in top.patches
        if str(p.get_gid()).startswith(prefix)
    ]


def test_chart_renders_a_png_file(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    png = render_timeline(stop_vm(), title="test_stop_vm", clock=Clock(0.02), path=path)
    assert png.startswith(PNG_SIGNATURE)
    assert path.read_bytes() == png
    width, height = png_size(png)
    assert (width, height) == (1000, 620)
    assert 10_000 < len(png) < 300_000


@pytest.mark.parametrize("requests", [None, pd.DataFrame({c: [] for c in REQUEST_COLUMNS})])
def test_chart_handles_no_requests(requests: pd.DataFrame | None) -> None:
    timeline = Timeline.build(requests, tl.capacity_frame(), tl.events_frame())
    png = render_timeline(timeline, title="no traffic")
    assert png.startswith(PNG_SIGNATURE) and len(png) > 0


def test_chart_handles_an_entirely_empty_timeline() -> None:
    png = render_timeline(Timeline.build(), title="nothing")
    assert png.startswith(PNG_SIGNATURE)


def test_a_frame_without_its_schema_never_reaches_the_chart() -> None:
    """The chart takes a Timeline, and a Timeline refuses a table without its time column."""
    with pytest.raises(ValueError, match="lacks its time column"):
        Timeline.build(requests=pd.DataFrame({"t": [1.0]}))


def test_healthy_capacity_drawn_is_the_metrics_curve_and_follows_the_stopped_vm() -> None:
    timeline = stop_vm()
    metrics = compute_metrics(timeline)
    with drawn(timeline, metrics) as figure:
        xy = line_data(figure, "healthy_capacity")
    curve = metrics.healthy_capacity
    np.testing.assert_allclose(xy[:, 0], curve["time"] - tl.T0)
    np.testing.assert_allclose(xy[:, 1], curve["capacity"])
    t, capacity = xy[:, 0], xy[:, 1]
    assert (capacity[t < tl.INJECT] == 1.0).all()
    during = capacity[(t >= tl.INJECT + 1.0) & (t < tl.BACK_UP)]
    assert len(during) > 0 and np.allclose(during, 5 / 6)
    assert capacity[-1] == 1.0


def test_serving_capacity_drawn_is_the_metrics_curve_and_drops_while_the_victim_is_out() -> None:
    timeline = stop_vm()
    metrics = compute_metrics(timeline)
    with drawn(timeline, metrics) as figure:
        xy = line_data(figure, "serving_capacity")
    curve = metrics.serving_capacity
    np.testing.assert_allclose(xy[:, 0], curve["time"] - tl.T0)
    np.testing.assert_allclose(xy[:, 1], curve["capacity"])

    def at(t: float) -> float:
        return float(xy[np.abs(xy[:, 0] - t).argmin(), 1])

    assert at(5.0) == 1.0
    assert at(15.0) == pytest.approx(5 / 6)


def test_the_chart_draws_the_metrics_it_is_given_rather_than_its_own() -> None:
    timeline = stop_vm()
    wide = compute_metrics(timeline, serving_window_s=2.0, baseline_instances=8)
    with drawn(timeline, wide) as figure:
        serving = line_data(figure, "serving_capacity")
        healthy = line_data(figure, "healthy_capacity")
        labels = figure.legends[0].get_texts()
    np.testing.assert_allclose(serving[:, 1], wide.serving_capacity["capacity"])
    assert healthy[:, 1].max() == pytest.approx(6 / 8)  # the baseline it was given
    assert any("2 s window" in text.get_text() for text in labels)


def test_a_gap_in_traffic_is_a_gap_in_the_serving_curve() -> None:
    requests = tl.requests_frame()
    t = requests["start"] - tl.T0
    timeline = Timeline.build(
        requests[(t < 5.0) | (t >= 8.0)], tl.capacity_frame(), tl.events_frame()
    )
    metrics = compute_metrics(timeline)
    with drawn(timeline, metrics) as figure:
        (line,) = artists(figure, "serving_capacity")
        x = np.asarray(line.get_xdata(), dtype=float)
    assert np.isnan(x).sum() == 1  # the skipped windows are not drawn across
    gap = x[np.flatnonzero(np.isnan(x))[0] - 1 : np.flatnonzero(np.isnan(x))[0] + 2]
    assert gap[0] < 5.0 + 0.25 / 2  # the last window that ends inside the traffic
    assert gap[2] >= 9.0 - 1e-6  # a full window after traffic resumed at 8 s


def test_failover_disruptions_and_recovery_are_the_metrics() -> None:
    timeline = stop_vm()
    metrics = compute_metrics(timeline)
    with drawn(timeline, metrics) as figure:
        (failover,) = artists(figure, "failover")
        (recovery,) = artists(figure, "recovery")
        disruptions = artists(figure, "disruption")
        failover_text = artists(figure, "failover:text")[0].get_text()
        recovery_text = artists(figure, "recovery:text")[0].get_text()
    (first,) = metrics.failovers
    assert first.time_s is not None and metrics.recovery is not None
    assert failover.xyann[0] == pytest.approx(first.injection - tl.T0)
    assert failover.xy[0] == pytest.approx(first.injection + first.time_s - tl.T0)
    assert recovery.xyann[0] == pytest.approx(metrics.recovery.start - tl.T0)
    assert metrics.recovery.recovered_at is not None
    assert recovery.xy[0] == pytest.approx(metrics.recovery.recovered_at - tl.T0)
    assert len(disruptions) == len(metrics.disruptions) > 0
    # durations are written in platform seconds (Clock(0.02)) with the wall seconds beside
    platform = Clock(0.02).platform(first.time_s)
    assert failover_text == f"failover {platform:.1f} s platform ({first.time_s:.2f} s wall)"
    assert recovery_text.startswith("recovery ") and "wall" in recovery_text


def test_phases_shaded_are_the_timelines_phases() -> None:
    def phases(events: pd.DataFrame) -> list[tuple[str, float, float]]:
        timeline = stop_vm(events)
        with drawn(timeline) as figure:
            shaded = spans(figure, "phase:")
        start, end = tl.T0, tl.T0 + tl.END
        expected = [
            (f"phase:{p.name}", round(max(p.start, start) - tl.T0, 6),
             round(min(p.end, end) - tl.T0, 6))
            for p in timeline.phases()
        ]  # fmt: skip
        assert shaded == expected
        return shaded

    events = tl.events_frame()
    marked = phases(events)
    assert marked == [("phase:baseline", 0.0, tl.INJECT), ("phase:fault", tl.INJECT, tl.REVERT),
                      ("phase:recovery", tl.REVERT, tl.END)]  # fmt: skip
    without_marks = events[events["kind"] != "phase"]
    assert phases(without_marks) == marked  # derived from inject and revert, as metrics do
    # the platform heals (no revert): the fault phase lasts to the end, as for the metrics —
    # a `recovered` event does not open a recovery phase
    platform_heals = without_marks[~without_marks["kind"].isin(["revert", "reverted"])]
    assert [name for name, _, _ in phases(platform_heals)] == ["phase:baseline", "phase:fault"]
    assert [name for name, _, _ in phases(events.iloc[0:0])] == ["phase:baseline"]


def test_requests_outside_the_experiment_window_are_left_out() -> None:
    requests = tl.requests_frame()
    stale = requests.assign(start=requests["start"] - 3600.0)  # an hour earlier: another run
    both = pd.concat([stale, requests], ignore_index=True)
    own = Timeline.build(requests, tl.capacity_frame(), tl.events_frame())
    with_stale = Timeline.build(both, tl.capacity_frame(), tl.events_frame())
    assert render_timeline(with_stale, title="x") == render_timeline(own, title="x")


def test_a_timeline_without_an_injection_is_all_baseline() -> None:
    """A dry run: no metrics passed, the chart asks the probes for them (no failover drawn)."""
    capacity = tl.capacity_frame(victims=())
    events = pd.DataFrame({"time": [tl.T0], "kind": ["phase"], "detail": ["baseline"]})
    timeline = Timeline.build(tl.requests_frame(victims=()), capacity, events)
    with drawn(timeline) as figure:
        assert artists(figure, "failover") == [] and artists(figure, "recovery") == []
        healthy = line_data(figure, "healthy_capacity")
    assert (healthy[:, 1] == 1.0).all()
    assert not math.isnan(healthy[0, 0])


def test_the_limits_the_verdict_judged_against_are_drawn() -> None:
    """Capacity floor across the top panel; failover and recovery limits from where their
    spans start (platform seconds in the targets, wall seconds on the axis)."""
    timeline = stop_vm()
    metrics = compute_metrics(timeline, clock=Clock(0.02))
    limits = {"min_healthy_capacity": 0.8, "max_failover_time_s": 30.0,
              "max_recovery_time_s": 180.0}  # fmt: skip
    figure = timeline_figure(timeline, metrics, title="x", clock=Clock(0.02), limits=limits)
    try:
        (floor,) = artists(figure, "limit:min_healthy_capacity")
        assert floor.get_ydata()[0] == pytest.approx(0.8)
        t0 = min(timeline.capacity["time"].min(), timeline.events["time"].min())
        (failover,) = artists(figure, "limit:max_failover_time_s")
        start = min(f.injection for f in metrics.failovers) - t0
        assert failover.get_xdata()[0] == pytest.approx(start + 30.0 * 0.02)
        assert artists(figure, "limit:max_recovery_time_s")  # a mark, or a note at the edge
    finally:
        plt.close(figure)


def test_the_last_partial_bin_is_not_a_false_dip() -> None:
    """Steady traffic up to the window's end: the last bin's rate is divided by the time it
    covers, so it reads like the others rather than as a drop."""
    start = 1_000.0
    times = np.arange(start, start + 10.05, 0.01)  # 100 requests/s for 10.05 s
    requests = pd.DataFrame({c: None for c in REQUEST_COLUMNS}, index=range(len(times)))
    requests["start"], requests["ok"] = times, True
    requests["latency_ms"], requests["status"] = 1.0, 200
    capacity = pd.DataFrame({"time": [start, start + 10.05], "vm": ["a", "a"],
                             "power_state": ["running"] * 2, "healthy": [True, True]})  # fmt: skip
    timeline = Timeline.build(requests, capacity, tl.events_frame().iloc[0:0])
    figure = timeline_figure(timeline, title="x", bin_s=1.0)
    try:
        ax = figure.axes[1]
        (line,) = [a for a in ax.get_lines() if a.get_label() == "requests/s"]
        rates = np.asarray(line.get_ydata(), dtype=float)
        assert rates.min() > 90, rates  # no bin reads as a dip (the last would read 5/s)
    finally:
        plt.close(figure)
