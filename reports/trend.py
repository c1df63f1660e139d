"""Metric trends across runs: failover and recovery time per scenario, one JSON line per result.

Allure's own history counts tests (passed, failed, ...); an SRE also wants to see whether the
failover time of each scenario drifts from night to night. `flexchaos report` reads the
verdicts attached to an Allure results dir, appends them to `trend.jsonl` (once per run) and
charts them.

A figure that never ended (errors never stopped, capacity never came back) is the worst point a
trend can have, so it is kept as such — `"never ended"` in trend.jsonl, a marker at the top of
the chart — never dropped like a figure that was not measured (null, no point).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from probes.measures import (
    ERROR_RATE,
    FAILOVER_TIME,
    HEALTHY_CAPACITY,
    P95_LATENCY,
    RECOVERY_TIME,
    Measure,
)
from reports.allure_attachments import VERDICT_JSON_NAME
from reports.values import number_or_inf
from reports.verdict import NEVER_ENDED, Verdict

TREND_MEASURES = (FAILOVER_TIME, RECOVERY_TIME)  # charted across runs


@dataclass(frozen=True)
class TrendPoint:
    """One experiment of one run; durations in platform seconds (wall alongside).

    The field names are trend.jsonl's format: a measure's value is the field of its name."""

    run: str
    time: str
    experiment: str
    state: str
    failover_time_s: float | None
    recovery_time_s: float | None
    failover_time_wall_s: float | None
    recovery_time_wall_s: float | None
    min_healthy_capacity: float | None
    error_rate: float | None
    p95_latency_ms: float | None
    time_scale: float
    limits: dict[str, float]

    def value(self, measure: Measure) -> float | None:
        """The recorded value of a measure (platform seconds for a duration); math.inf when it
        never ended, None when it was not measured."""
        value = getattr(self, measure.name)
        return value if isinstance(value, float | int) else None

    def to_json(self) -> dict[str, Any]:
        """A trend.jsonl line: a value that never ended is written as "never ended"."""
        return {k: NEVER_ENDED if _never_ended(v) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TrendPoint:
        return cls(**{k: math.inf if v == NEVER_ENDED else v for k, v in data.items()})


@dataclass(frozen=True)
class ResultVerdict:
    """A verdict found in a results dir, with the result file that carries it."""

    result_file: Path
    uuid: str
    start_ms: int
    verdict: Verdict


def read_results_verdicts(results: Path) -> list[ResultVerdict]:
    """Every verdict.json attached to a test result in an Allure results dir."""
    found = []
    for path in sorted(results.glob("*-result.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        for attachment in _attachments(data):
            if attachment.get("name") != VERDICT_JSON_NAME:
                continue
            try:
                verdict = Verdict.from_dict(
                    json.loads((results / attachment["source"]).read_text())
                )
            except (OSError, KeyError, TypeError, json.JSONDecodeError):
                continue
            found.append(
                ResultVerdict(path, data.get("uuid", ""), int(data.get("start", 0)), verdict)
            )
    return found


def points_for_run(found: Sequence[ResultVerdict]) -> list[TrendPoint]:
    """Trend points for one run; the run is named by its earliest result's start time."""
    if not found:
        return []
    start_ms = min(item.start_ms for item in found)
    run = str(start_ms)
    when = dt.datetime.fromtimestamp(start_ms / 1000, dt.UTC).isoformat(timespec="seconds")
    points = []
    for item in found:
        v = item.verdict
        wall = {m: number_or_inf(v.measured.get(m.name)) for m in TREND_MEASURES}
        platform = {m: None if w is None else m.on_platform(w, v.clock) for m, w in wall.items()}
        points.append(
            TrendPoint(
                run=run,
                time=when,
                experiment=v.experiment,
                state=v.state,
                failover_time_s=platform[FAILOVER_TIME],
                recovery_time_s=platform[RECOVERY_TIME],
                failover_time_wall_s=wall[FAILOVER_TIME],
                recovery_time_wall_s=wall[RECOVERY_TIME],
                min_healthy_capacity=number_or_inf(v.measured.get(HEALTHY_CAPACITY.name)),
                error_rate=number_or_inf(v.measured.get(ERROR_RATE.name)),
                p95_latency_ms=number_or_inf(v.measured.get(P95_LATENCY.name)),
                time_scale=v.time_scale,
                limits={row.target: row.limit for row in v.rows},
            )
        )
    return points


def append_trend(path: Path, points: Sequence[TrendPoint]) -> list[TrendPoint]:
    """Append a run's points unless that run is already recorded; return the whole trend."""
    existing = load_trend(path)
    runs = {p.run for p in existing}
    new = [p for p in points if p.run not in runs]
    if new:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            for point in new:
                handle.write(json.dumps(point.to_json()) + "\n")
    return existing + new


def load_trend(path: Path) -> list[TrendPoint]:
    if not path.is_file():
        return []
    points = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            points.append(TrendPoint.from_json(json.loads(line)))
        except (TypeError, AttributeError, json.JSONDecodeError):
            continue  # a line from another version: skip it rather than lose the report
    return points


def render_trend(
    points: Sequence[TrendPoint], *, experiment: str | None = None, title: str | None = None
) -> bytes:
    """Failover time per scenario across runs (or, for one experiment, failover and recovery)
    as PNG bytes."""
    figure = trend_figure(points, experiment=experiment, title=title)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def trend_figure(
    points: Sequence[TrendPoint], *, experiment: str | None = None, title: str | None = None
) -> Figure:
    """The trend chart as a matplotlib Figure; a run whose figure never ended is a triangle at
    the top of the chart labelled "never ended" (artist gid `never_ended`)."""
    runs = sorted({p.run for p in points})
    index = {run: i + 1 for i, run in enumerate(runs)}
    figure, ax = plt.subplots(figsize=(9, 3.4), layout="constrained")
    never: list[tuple[int, str, str]] = []  # (run, colour, label) of values that never ended
    if experiment is None:
        cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for i, name in enumerate(sorted({p.experiment for p in points})):
            series = [p for p in points if p.experiment == name]
            colour = cycle[i % len(cycle)]
            xs, ys = _series(series, FAILOVER_TIME, index)
            if xs:
                ax.plot(xs, ys, marker="o", color=colour, label=name)
            never += [
                (x, colour, f"{name}: {NEVER_ENDED}")
                for x in _never_ended_runs(series, FAILOVER_TIME, index)
            ]
        ax.set_title(title or "Failover time per scenario across runs")
    else:
        series = [p for p in points if p.experiment == experiment]
        for measure, colour in zip(TREND_MEASURES, ("#b91c1c", "#1d4ed8"), strict=True):
            xs, ys = _series(series, measure, index)
            ax.plot(xs, ys, marker="o", color=colour, label=measure.name.replace("_s", " (s)"))
            never += [
                (x, colour, f"{measure.name}: {NEVER_ENDED}")
                for x in _never_ended_runs(series, measure, index)
            ]
            limit = series[-1].limits.get(measure.target or "") if series else None
            if limit is not None:
                ax.axhline(limit, color=colour, linestyle="--", alpha=0.6, label=measure.target)
        ax.set_title(title or f"{experiment}: across runs")
    ax.set_xlabel("run (UTC start, oldest → newest)")
    ax.set_ylabel("platform seconds")
    ax.set_xlim(0.5, max(len(runs), 1) + 0.5)
    times = {p.run: p.time for p in points}
    ax.set_xticks(range(1, len(runs) + 1), [_short_time(times[run]) for run in runs], fontsize=8)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    if never:
        _draw_never_ended(ax, never)
    if ax.get_legend_handles_labels()[0]:
        figure.legend(fontsize=8, loc="outside right upper")
    else:
        ax.text(0.5, 0.5, "no measurements yet", transform=ax.transAxes, ha="center")
    return figure


def _draw_never_ended(ax: Axes, never: list[tuple[int, str, str]]) -> None:
    """Never ended is above every finite value: a marker at the top, in headroom made for it,
    each labelled with what never ended."""
    top = ax.get_ylim()[1]
    ax.set_ylim(0, top * 1.3)
    y = top * 1.1
    ax.scatter(
        [x for x, _, _ in never], [y] * len(never), marker="^", s=70, zorder=5,
        c=[colour for _, colour, _ in never], gid="never_ended", label=NEVER_ENDED,
    )  # fmt: skip
    stacked: dict[int, int] = {}
    for x, colour, text in never:
        above = stacked[x] = stacked.get(x, 0) + 1
        ax.annotate(
            text, (x, y), textcoords="offset points", xytext=(0, 8 * above), ha="center",
            fontsize=7, color=colour, gid="never_ended_label",
        )  # fmt: skip


def _series(
    points: Sequence[TrendPoint], measure: Measure, index: dict[str, int]
) -> tuple[list[int], list[float]]:
    """(run number, value) of the points that recorded a finite value of the measure."""
    pairs = [
        (index[p.run], value)
        for p in points
        if (value := p.value(measure)) is not None and math.isfinite(value)
    ]
    return [x for x, _ in pairs], [y for _, y in pairs]


def _never_ended_runs(
    points: Sequence[TrendPoint], measure: Measure, index: dict[str, int]
) -> list[int]:
    return [index[p.run] for p in points if _never_ended(p.value(measure))]


def _short_time(iso: str) -> str:
    try:
        return dt.datetime.fromisoformat(iso).strftime("%m-%d\n%H:%M")
    except ValueError:
        return iso


def _attachments(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from node.get("attachments", [])
    for step in node.get("steps", []):
        yield from _attachments(step)


def _never_ended(value: object) -> bool:
    return isinstance(value, float) and math.isinf(value)
