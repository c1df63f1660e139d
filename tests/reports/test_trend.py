"""Metric trends: verdicts read back from results, platform seconds, one record per run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from reports.allure_attachments import VERDICT_JSON_NAME
from reports.targets import Targets
from reports.trend import (
    append_trend,
    load_trend,
    points_for_run,
    read_results_verdicts,
    render_trend,
    trend_figure,
)
from reports.verdict import judge

LIMITS = {"max_failover_time_s": 30.0, "max_recovery_time_s": 180.0}


def write_result(results: Path, name: str, start: int, failover_wall: float) -> None:
    verdict = judge(Targets(name, LIMITS), {"failover_time_s": failover_wall,
                    "recovery_time_s": 2.0}, time_scale=0.02)  # fmt: skip
    source = f"{name}-{start}-attachment.json"
    (results / source).write_text(verdict.to_json())
    attachment = {"name": VERDICT_JSON_NAME, "source": source, "type": "application/json"}
    step = {"name": "judge", "attachments": [attachment]}
    result = {"uuid": f"{name}-{start}", "name": name, "start": start, "steps": [step]}
    (results / f"{name}-{start}-result.json").write_text(json.dumps(result))


def test_trend_records_each_run_once_in_platform_seconds(tmp_path: Path) -> None:
    trend = tmp_path / "trend.jsonl"
    for run, factor in enumerate((1.0, 1.5)):
        results = tmp_path / f"r{run}"
        results.mkdir()
        write_result(results, "test_stop_vm", 1_000 + run * 10_000, 0.3 * factor)
        write_result(results, "test_zone_down", 2_000 + run * 10_000, 0.5 * factor)
        (results / "broken-result.json").write_text("{not json")
        found = read_results_verdicts(results)
        assert sorted(f.verdict.experiment for f in found) == ["test_stop_vm", "test_zone_down"]
        points = append_trend(trend, points_for_run(found))
        assert len(append_trend(trend, points_for_run(found))) == len(points)  # idempotent
    loaded = load_trend(trend)
    assert len(loaded) == 4 and len({p.run for p in loaded}) == 2
    stop = [p for p in loaded if p.experiment == "test_stop_vm"]
    assert [round(p.failover_time_s, 6) for p in stop] == [15.0, 22.5]
    assert [p.failover_time_wall_s for p in stop] == [0.3, 0.3 * 1.5]
    assert stop[0].limits["max_failover_time_s"] == 30.0
    for png in (render_trend(loaded), render_trend(loaded, experiment="test_zone_down"),
                render_trend([])):  # fmt: skip
        assert png.startswith(b"\x89PNG") and len(png) > 1000


def test_unreadable_trend_lines_are_skipped(tmp_path: Path) -> None:
    trend = tmp_path / "trend.jsonl"
    trend.write_text('{"old": "format"}\nnot json\n\n')
    assert load_trend(trend) == []


def test_never_ended_is_kept_in_the_trend_and_drawn_at_the_top(tmp_path: Path) -> None:
    """Errors that never stopped are the worst point of a trend, not a missing one."""
    results = tmp_path / "results"
    results.mkdir()
    write_result(results, "test_stop_vm", 1_000, 0.3)
    write_result(results, "test_zone_down", 2_000, float("inf"))
    trend = tmp_path / "trend.jsonl"
    append_trend(trend, points_for_run(read_results_verdicts(results)))
    lines = [json.loads(line) for line in trend.read_text().splitlines()]
    zone = next(line for line in lines if line["experiment"] == "test_zone_down")
    assert zone["failover_time_s"] == "never ended"
    assert zone["failover_time_wall_s"] == "never ended"
    assert zone["recovery_time_s"] == 100.0  # the other figures stay numbers
    loaded = {p.experiment: p for p in load_trend(trend)}
    assert math.isinf(loaded["test_zone_down"].failover_time_s)
    assert loaded["test_stop_vm"].failover_time_s == pytest.approx(15.0)
    for experiment in (None, "test_zone_down"):
        figure = trend_figure(list(loaded.values()), experiment=experiment)
        ax = figure.axes[0]
        [marker] = [c for c in ax.collections if c.get_gid() == "never_ended"]
        assert marker.get_offsets()[0][1] > ax.get_ylim()[1] * 0.8  # at the top
        labels = [t.get_text() for t in ax.texts if t.get_gid() == "never_ended_label"]
        assert labels == [
            "test_zone_down: never ended" if experiment is None else "failover_time_s: never ended"
        ]
        plt.close(figure)
