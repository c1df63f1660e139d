"""Timeline schemas, phases, and loading per-process JSON-lines logs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd

from probes.timeline import REQUEST_COLUMNS, Timeline, load_requests
from tests.probes import constructed as c


def test_build_normalizes_schema_and_sorts() -> None:
    rows = c.requests(1.0)[::-1]
    del rows[0]["served_by"]  # a missing column value becomes NA, not an error
    timeline = Timeline.build(requests=rows)
    assert list(timeline.requests.columns) == list(REQUEST_COLUMNS)
    assert timeline.requests["start"].is_monotonic_increasing
    assert str(timeline.requests["served_by"].dtype) == "string"
    assert timeline.capacity.empty and "time" in timeline.capacity.columns


def test_merge_of_per_process_logs_keeps_every_line_and_drops_a_torn_tail(tmp_path: Path) -> None:
    rows = c.requests(1.0)
    for index, part in enumerate((rows[:40], rows[40:])):
        lines = [json.dumps(r) for r in part]
        text = "\n".join(lines) + "\n"
        if index == 1:
            text += '{"start": 1.0, "latency'  # a worker killed mid-write
        (tmp_path / f"requests-host-{index}.jsonl").write_text(text)
    (tmp_path / "requests-host-empty.jsonl").write_text("")
    merged = load_requests(tmp_path)
    assert len(merged) == len(rows)
    assert merged["start"].tolist() == sorted(r["start"] for r in rows)
    assert merged["ok"].dtype == bool


def test_write_then_read_round_trips(tmp_path: Path) -> None:
    timeline = Timeline.build(
        requests=c.requests(2.0, failing=[(1.0, 1.2)]),
        capacity=c.capacity(2.0),
        events=c.events((1.0, "inject"), (1.5, "revert")),
    )
    again = Timeline.read(timeline.write(tmp_path / "timeline"))
    pd.testing.assert_frame_equal(again.requests, timeline.requests)
    pd.testing.assert_frame_equal(again.capacity, timeline.capacity)
    pd.testing.assert_frame_equal(again.events, timeline.events)


def test_phases_derive_from_inject_and_revert() -> None:
    timeline = Timeline.build(events=c.events((10.0, "inject"), (20.0, "revert")))
    names = [(p.name, p.start - c.T0 if p.start > 0 else p.start) for p in timeline.phases()]
    assert names == [("baseline", -math.inf), ("fault", 10.0), ("recovery", 20.0)]
    no_revert = Timeline.build(events=c.events((10.0, "injected")))
    assert [p.name for p in no_revert.phases()] == ["baseline", "fault"]
    assert [p.name for p in Timeline.build().phases()] == ["baseline"]


def test_phase_labels_follow_request_start() -> None:
    timeline = Timeline.build(
        requests=c.requests(30.0, every=1.0),
        events=c.events((10.0, "inject"), (20.0, "revert")),
    )
    labels = timeline.phase_labels(timeline.requests["start"]).value_counts().to_dict()
    assert labels == {"baseline": 10, "fault": 10, "recovery": 10}


def test_span_covers_every_table() -> None:
    timeline = Timeline.build(
        requests=c.requests(1.0, since=0.5),
        capacity=c.capacity(0.5),
        events=c.events((2.0, "revert")),
    )
    assert timeline.span() == (c.T0, c.T0 + 2.0)
