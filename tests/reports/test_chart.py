"""The timeline chart renders real PNGs from timeline frames, including empty ones."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from reports.chart import (
    REQUEST_COLUMNS,
    healthy_capacity_curve,
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
