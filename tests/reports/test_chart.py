"""The timeline chart renders real PNGs from timeline frames, including empty ones."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reports.chart import (
    REQUEST_COLUMNS,
    healthy_capacity_curve,
    phase_spans,
    render_timeline,
    serving_capacity_curve,
)
from tests.reports import timelines as tl

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def test_chart_renders_a_png_file(tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    png = render_timeline(
        tl.requests_frame(), tl.capacity_frame(), tl.events_frame(),
        title="test_stop_vm", time_scale=0.02, path=path,
    )  # fmt: skip
    assert png.startswith(PNG_SIGNATURE)
    assert path.read_bytes() == png
    width, height = png_size(png)
    assert (width, height) == (1000, 620)
    assert 10_000 < len(png) < 300_000


@pytest.mark.parametrize("requests", [None, pd.DataFrame({c: [] for c in REQUEST_COLUMNS})])
def test_chart_handles_no_requests(requests: pd.DataFrame | None) -> None:
    png = render_timeline(requests, tl.capacity_frame(), tl.events_frame(), title="no traffic")
    assert png.startswith(PNG_SIGNATURE) and len(png) > 0


def test_chart_handles_an_entirely_empty_timeline() -> None:
    png = render_timeline(None, None, None, title="nothing")
    assert png.startswith(PNG_SIGNATURE)


def test_chart_refuses_a_frame_without_its_schema() -> None:
    with pytest.raises(ValueError, match="lacks columns"):
        render_timeline(pd.DataFrame({"t": [1.0]}), None, None, title="x")


def test_healthy_capacity_curve_follows_the_stopped_vm() -> None:
    curve = healthy_capacity_curve(tl.capacity_frame())
    t = curve["time"] - tl.T0
    assert curve["healthy_capacity"][t < tl.INJECT].eq(1.0).all()
    during = curve["healthy_capacity"][(t >= tl.INJECT + 1.0) & (t < tl.BACK_UP)]
    assert during.eq(5 / 6).all() and len(during) > 0
    assert curve["healthy_capacity"].iloc[-1] == 1.0


def test_serving_capacity_drops_while_the_victim_serves_nothing() -> None:
    requests = tl.requests_frame()
    times = [tl.T0 + 5.0, tl.T0 + 15.0]
    before, during = serving_capacity_curve(requests, 6, times, window_s=1.0)
    assert before == 1.0
    assert during == pytest.approx(5 / 6)


def test_phases_come_from_phase_events_or_else_from_inject_and_revert() -> None:
    events = tl.events_frame()
    t0, t_end = tl.T0, tl.T0 + tl.END
    spans = [(n, s - t0, e - t0) for n, s, e in phase_spans(events, t0, t_end)]
    assert spans == [("baseline", 0.0, tl.INJECT), ("fault", tl.INJECT, tl.REVERT),
                     ("recovery", tl.REVERT, tl.END)]  # fmt: skip
    without_phases = events[events["kind"] != "phase"]
    assert [(n, s - t0, e - t0) for n, s, e in phase_spans(without_phases, t0, t_end)] == spans
    platform_heals = without_phases[~without_phases["kind"].isin(["revert", "reverted"])]
    assert [n for n, _, _ in phase_spans(platform_heals, t0, t_end)] == [
        "baseline",
        "fault",
        "recovery",
    ]  # fmt: skip  (recovery starts at `recovered`)
    assert phase_spans(events.iloc[0:0], t0, t_end) == []


def test_requests_outside_the_experiment_window_are_left_out() -> None:
    requests = tl.requests_frame()
    stale = requests.assign(start=requests["start"] - 3600.0)  # an hour earlier: another run
    both = pd.concat([stale, requests], ignore_index=True)
    png_both = render_timeline(both, tl.capacity_frame(), tl.events_frame(), title="x")
    png_own = render_timeline(requests, tl.capacity_frame(), tl.events_frame(), title="x")
    assert png_both == png_own
