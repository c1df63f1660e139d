"""Metric trends across runs: failover and recovery time per scenario, one JSON line per result.

Allure's own history counts tests (passed, failed, ...); an SRE also wants to see whether the
failover time of each scenario drifts from night to night. `flexchaos report` reads the
verdicts attached to an Allure results dir, appends them to `trend.jsonl` (once per run) and
charts them.
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

from probes.measures import (
    ERROR_RATE,
    FAILOVER_TIME,
    HEALTHY_CAPACITY,
    P95_LATENCY,
    RECOVERY_TIME,
    Measure,
)
from reports.allure_attachments import VERDICT_JSON_NAME
from reports.verdict import Verdict

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
        """The recorded value of a measure (platform seconds for a duration)."""
        value = getattr(self, measure.name)
        return value if isinstance(value, float | int) else None


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
        wall = {m: _number(v.measured.get(m.name)) for m in TREND_MEASURES}
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
                min_healthy_capacity=_number(v.measured.get(HEALTHY_CAPACITY.name)),
                error_rate=_number(v.measured.get(ERROR_RATE.name)),
                p95_latency_ms=_number(v.measured.get(P95_LATENCY.name)),
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
                handle.write(json.dumps(asdict(point)) + "\n")
    return existing + new


def load_trend(path: Path) -> list[TrendPoint]:
    if not path.is_file():
        return []
    points = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            points.append(TrendPoint(**json.loads(line)))
        except (TypeError, json.JSONDecodeError):
            continue  # a line from another version: skip it rather than lose the report
    return points


def render_trend(
    points: Sequence[TrendPoint], *, experiment: str | None = None, title: str | None = None
) -> bytes:
    """Failover time per scenario across runs (or, for one experiment, failover and recovery)."""
    runs = sorted({p.run for p in points})
    index = {run: i + 1 for i, run in enumerate(runs)}
    figure, ax = plt.subplots(figsize=(9, 3.4), layout="constrained")
    if experiment is None:
        for name in sorted({p.experiment for p in points}):
            xs, ys = _series([p for p in points if p.experiment == name], FAILOVER_TIME, index)
            if xs:
                ax.plot(xs, ys, marker="o", label=name)
        ax.set_title(title or "Failover time per scenario across runs")
    else:
        series = [p for p in points if p.experiment == experiment]
        for measure, colour in zip(TREND_MEASURES, ("#b91c1c", "#1d4ed8"), strict=True):
            xs, ys = _series(series, measure, index)
            ax.plot(xs, ys, marker="o", color=colour, label=measure.name.replace("_s", " (s)"))
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
    if ax.get_legend_handles_labels()[0]:
        figure.legend(fontsize=8, loc="outside right upper")
    else:
        ax.text(0.5, 0.5, "no measurements yet", transform=ax.transAxes, ha="center")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def _series(
    points: Sequence[TrendPoint], measure: Measure, index: dict[str, int]
) -> tuple[list[int], list[float]]:
    """(run number, value) of the points that recorded the measure."""
    pairs = [(index[p.run], value) for p in points if (value := p.value(measure)) is not None]
    return [x for x, _ in pairs], [y for _, y in pairs]


def _short_time(iso: str) -> str:
    try:
        return dt.datetime.fromisoformat(iso).strftime("%m-%d\n%H:%M")
    except ValueError:
        return iso


def _attachments(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from node.get("attachments", [])
    for step in node.get("steps", []):
        yield from _attachments(step)


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
