"""The timeline chart: one PNG a reviewer reads at a glance, drawn from what the probes computed.

Top panel: the healthy-capacity and serving-capacity curves of `probes.metrics.Metrics`, as
fractions of the baseline fleet, and the recovery it measured. Bottom panel: requests/s and
errors/s in bins, the disruptions and the failover of each injection. Both panels shade the
phases of `Timeline.phases()` and mark fault events; the requests panel marks the failover
phases of each target VM and the detection span (reports/phase_marks.py). The chart recomputes
no figure: without metrics (a dry run) it asks `probes.metrics.compute_metrics` for them, so
the picture and the verdict always agree. The x axis is wall seconds since the experiment's
start; a second axis gives platform seconds (through `probes.measures.Clock`) when the
emulator's clock is scaled.

Each drawn element carries a matplotlib `gid` (healthy_capacity, serving_capacity, disruption,
failover, recovery, phase:<name>, phase_mark:<key>, detection) so tests can check what is drawn.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from probes.measures import SERVING_CAPACITY, Clock
from probes.metrics import Metrics, compute_metrics
from probes.timeline import Timeline
from reports.chart_limits import draw_limits
from reports.phase_marks import draw_failover_phases

PHASE_COLOURS = {"baseline": "#dbeafe", "fault": "#fee2e2", "recovery": "#dcfce7"}
EVENT_STYLES = {
    "inject": ("#b91c1c", "-", "inject"),
    "injected": ("#b91c1c", ":", "injected"),
    "revert": ("#1d4ed8", "-", "revert"),
    "reverted": ("#1d4ed8", ":", "reverted"),
    "abort": ("#7c2d12", "--", "abort"),
    "recovered": ("#15803d", "--", "recovered"),
}
HEALTHY_COLOUR, SERVING_COLOUR, FAILURE_COLOUR = "#15803d", "#7c3aed", "#dc2626"
BRACKET_Y = 1.07  # capacity panel: where the recovery is drawn, above full capacity


def render_timeline(
    timeline: Timeline,
    metrics: Metrics | None = None,
    *,
    title: str,
    clock: Clock | None = None,
    bin_s: float | None = None,
    path: str | Path | None = None,
    limits: Mapping[str, float] | None = None,
) -> bytes:
    """Render the chart as PNG bytes (and write them to `path` when given); see timeline_figure."""
    figure = timeline_figure(
        timeline, metrics, title=title, clock=clock, bin_s=bin_s, limits=limits
    )
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    png = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(png)
    return png


def timeline_figure(
    timeline: Timeline,
    metrics: Metrics | None = None,
    *,
    title: str,
    clock: Clock | None = None,
    bin_s: float | None = None,
    limits: Mapping[str, float] | None = None,
) -> Figure:
    """The chart as a matplotlib Figure (the caller closes it).

    `limits` (targets.toml keys → limits, durations in platform seconds) draws what the verdict
    judged against: the capacity floor, and the failover and recovery limits from where each
    span starts (reports/chart_limits.py).

    The experiment's window is where its capacity samples and fault events are; requests outside
    it (e.g. left over from another run) are not drawn, nor measured when `metrics` is None.
    `bin_s` (the requests/s resolution) defaults to about 1/30 of the window, 0.1 s to 5 s."""
    clock = clock or Clock()
    t0, t_end = _window(timeline)
    timeline = _within(timeline, t0, t_end)
    if metrics is None:
        metrics = compute_metrics(timeline)
    bin_s = bin_s or _auto_bin(t_end - t0)
    span = max(t_end - t0, bin_s)

    figure, (cap_ax, req_ax) = plt.subplots(
        2, 1, sharex=True, figsize=(10, 6.2), height_ratios=[1, 1], layout="constrained"
    )
    figure.suptitle(title, fontsize=12, fontweight="bold")
    _capacity_panel(cap_ax, metrics, t0, t_end, clock)
    _requests_panel(req_ax, timeline.requests, metrics, t0, t_end, span, bin_s, clock)
    draw_failover_phases(req_ax, metrics.failover_phases, t0, t_end, clock, _bracket)
    draw_limits(cap_ax, req_ax, metrics, limits or {}, t0, span, clock)
    req_ax.set_xlabel("wall seconds since start")
    req_ax.set_xlim(0, span)
    for ax in (cap_ax, req_ax):
        _shade_phases(ax, timeline, t0, t_end)
        _mark_events(ax, timeline.events, t0)
        ax.grid(True, alpha=0.3)
    _legend(figure, (cap_ax, req_ax))
    if clock.scaled:
        top = cap_ax.secondary_xaxis("top", functions=(clock.platform, clock.wall))
        top.set_xlabel(f"platform seconds (time scale {clock.time_scale:g})", fontsize=9)
    return figure


# -- panels --------------------------------------------------------------------------------------
def _capacity_panel(ax: plt.Axes, metrics: Metrics, t0: float, t_end: float, clock: Clock) -> None:
    healthy, serving = metrics.healthy_capacity, metrics.serving_capacity
    if not healthy.empty:
        ax.step(
            healthy["time"] - t0, healthy["capacity"], where="post", color=HEALTHY_COLOUR,
            linewidth=2, gid="healthy_capacity",
            label=f"healthy capacity (min {_percent(metrics.min_healthy_capacity)})",
        )  # fmt: skip
    if not serving.empty:
        times, values = _broken_at_gaps(serving["time"].to_numpy(float) - t0, serving["capacity"])
        window = metrics.resolutions.get(SERVING_CAPACITY.name)
        within = f", {window.step_s:g} s window" if window and window.step_s else ""
        ax.plot(
            times, values, color=SERVING_COLOUR, linewidth=1.5, alpha=0.85, gid="serving_capacity",
            label=f"serving capacity{within} (min {_percent(metrics.min_serving_capacity)})",
        )  # fmt: skip
    if healthy.empty and serving.empty:
        ax.text(0.5, 0.5, "no capacity samples", transform=ax.transAxes, ha="center")
    recovery = metrics.recovery
    if recovery is not None and math.isfinite(recovery.start):
        end = recovery.recovered_at if recovery.recovered_at is not None else t_end
        text = (
            f"recovery {_duration(recovery.time_s, clock)}"
            if recovery.recovered and recovery.time_s is not None
            else "not recovered"
        )
        _bracket(ax, recovery.start - t0, end - t0, BRACKET_Y, text, HEALTHY_COLOUR, "recovery")
    ax.set_ylim(-0.05, 1.15)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    base = metrics.baseline_instances
    ax.set_ylabel(f"capacity (of {base} at baseline)" if base else "capacity (of baseline)")


def _requests_panel(
    ax: plt.Axes,
    requests: pd.DataFrame,
    metrics: Metrics,
    t0: float,
    t_end: float,
    span: float,
    bin_s: float,
    clock: Clock,
) -> None:
    ax.set_ylabel(f"requests/s ({bin_s:g} s bins)")
    if requests.empty:
        ax.text(0.5, 0.5, "no requests recorded", transform=ax.transAxes, ha="center")
        ax.set_ylim(0, 1)
        return
    edges, widths = _bins(t0, t_end, bin_s)
    starts = requests["start"].to_numpy(dtype=float)
    failed = ~requests["ok"].astype(bool).to_numpy()
    total, _ = np.histogram(starts, bins=edges)
    errors, _ = np.histogram(starts[failed], bins=edges)
    centres = edges[:-1] - t0
    rate, error_rate = total / widths, errors / widths  # a last, shorter bin is not a dip
    # a step plot needs the last bin's end too, or the last bin is drawn with no width
    xs = np.append(centres, edges[-1] - t0)
    ax.step(xs, np.append(rate, rate[-1:]), where="post", color="#2563eb", linewidth=1.5,
            label="requests/s")  # fmt: skip
    ax.set_ylim(0, max(1.0, float(rate.max()) * 1.3))
    # errors on their own (red) scale: a short burst stays visible next to heavy traffic
    err_ax = ax.twinx()
    err_ax.fill_between(xs, np.append(error_rate, error_rate[-1:]), step="post",
                        color=FAILURE_COLOUR, alpha=0.6)  # fmt: skip
    err_ax.set_ylim(0, max(1.0, float(error_rate.max()) * 1.3))
    err_ax.set_ylabel("errors/s", color=FAILURE_COLOUR)
    err_ax.tick_params(axis="y", colors=FAILURE_COLOUR)
    overall = metrics.overall
    ax.plot(
        [], [], color=FAILURE_COLOUR, linewidth=6, alpha=0.6,
        label=f"errors/s, right axis ({overall.failures} failed of {overall.requests})",
    )  # fmt: skip
    min_width = span / 400  # a disruption of one request stays visible
    for i, disruption in enumerate(metrics.disruptions):
        start = disruption.first_failure - t0
        ax.axvspan(
            start, max(disruption.last_failure_end - t0, start + min_width), color=FAILURE_COLOUR,
            alpha=0.15, hatch="//", zorder=1, gid="disruption",
            label="disruption (failures without a quiet window)" if i == 0 else None,
        )  # fmt: skip
    for failover in metrics.failovers:
        if failover.time_s is None:
            continue
        start = failover.injection - t0
        if math.isinf(failover.time_s):
            _bracket(ax, start, t_end - t0, 0.9, "errors never stopped", FAILURE_COLOUR, "failover",
                     axes_y=True)  # fmt: skip
        else:
            text = f"failover {_duration(failover.time_s, clock)}"
            _bracket(ax, start, start + failover.time_s, 0.9, text, FAILURE_COLOUR, "failover",
                     axes_y=True)  # fmt: skip


# -- phases, events, brackets, legend ------------------------------------------------------------
def _shade_phases(ax: plt.Axes, timeline: Timeline, t0: float, t_end: float) -> None:
    """The phases the metrics use (Timeline.phases()), clipped to the chart's window."""
    for phase in timeline.phases():
        start, end = max(phase.start, t0), min(phase.end, t_end)
        if end <= start:
            continue
        ax.axvspan(
            start - t0, end - t0, color=PHASE_COLOURS.get(phase.name, "#f3f4f6"), alpha=0.6,
            zorder=0, label=f"phase: {phase.name}", gid=f"phase:{phase.name}",
        )  # fmt: skip


def _mark_events(ax: plt.Axes, events: pd.DataFrame, t0: float) -> None:
    for row in events[events["kind"].isin(list(EVENT_STYLES))].itertuples(index=False):
        colour, style, label = EVENT_STYLES[str(row.kind)]
        ax.axvline(float(row.time) - t0, color=colour, linestyle=style, linewidth=1.6, label=label)


def _bracket(
    ax: plt.Axes,
    start: float,
    end: float,
    y: float,
    text: str,
    colour: str,
    gid: str,
    *,
    axes_y: bool = False,
) -> None:
    """A double arrow from start to end (x: seconds since start) with its text above it."""
    transform = ax.get_xaxis_transform() if axes_y else ax.transData
    arrow = ax.annotate(
        "", xy=(end, y), xytext=(start, y), xycoords=transform, textcoords=transform,
        arrowprops={"arrowstyle": "|-|,widthA=0.25,widthB=0.25", "color": colour, "lw": 1.4},
    )  # fmt: skip
    arrow.set_gid(gid)
    label = ax.annotate(
        text, xy=(start, y), xycoords=transform, xytext=(2, 3), textcoords="offset points",
        fontsize=8, color=colour, va="bottom",
        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
    )  # fmt: skip
    label.set_gid(f"{gid}:text")


def _legend(figure: Figure, axes: Sequence[plt.Axes]) -> None:
    """One legend under both panels: curves and figures first, then phases, then events."""
    unique: dict[str, object] = {}
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        for handle, label in zip(handles, labels, strict=True):
            unique.setdefault(label, handle)
    events = {label for _, _, label in EVENT_STYLES.values()}

    def group(label: str) -> int:
        return 2 if label in events else 1 if label.startswith("phase: ") else 0

    ordered = sorted(unique, key=group)  # stable: drawing order within a group
    if ordered:
        figure.legend(
            [unique[label] for label in ordered], ordered, loc="outside lower center",
            ncol=min(len(ordered), 5), fontsize=8, frameon=False,
        )  # fmt: skip


# -- helpers -------------------------------------------------------------------------------------
def _window(timeline: Timeline) -> tuple[float, float]:
    """(start, end) of the experiment: its capacity samples and events, else its requests."""
    framing = [t["time"] for t in (timeline.capacity, timeline.events) if not t.empty]
    if not framing and not timeline.requests.empty:
        framing = [timeline.requests["start"]]
    if not framing:
        return 0.0, 1.0
    start = min(float(times.min()) for times in framing)
    end = max(float(times.max()) for times in framing)
    return start, end if math.isfinite(end) and end > start else start + 1.0


def _within(timeline: Timeline, t0: float, t_end: float) -> Timeline:
    requests = timeline.requests
    inside = requests[(requests["start"] >= t0) & (requests["start"] <= t_end)]
    if len(inside) == len(requests):
        return timeline
    return Timeline(
        inside.reset_index(drop=True), timeline.capacity, timeline.events, timeline.routing
    )


def _bins(t0: float, t_end: float, bin_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Bin edges over [t0, t_end] and each bin's width: the last bin ends at t_end (so it is
    divided by the time it covers), and a sliver under a fifth of a bin joins the one before."""
    edges = np.arange(t0, t_end, bin_s)
    if len(edges) == 0 or t_end - edges[-1] >= 0.2 * bin_s:
        edges = np.append(edges, t_end)
    else:
        edges[-1] = t_end
    if len(edges) < 2:
        edges = np.array([t0, t0 + bin_s])
    return edges, np.diff(edges)


def _broken_at_gaps(times: np.ndarray, values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """The curve with NaN where the metric skipped windows (no traffic): drawn as a gap."""
    y = values.to_numpy(dtype=float)
    if len(times) < 3:
        return times, y
    steps = np.diff(times)
    cuts = np.flatnonzero(steps > 1.5 * float(np.median(steps))) + 1
    return np.insert(times, cuts, np.nan), np.insert(y, cuts, np.nan)


def _duration(wall_s: float, clock: Clock) -> str:
    if not clock.scaled:
        return f"{wall_s:.2f} s"
    return f"{clock.platform(wall_s):.1f} s platform ({wall_s:.2f} s wall)"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _auto_bin(span_s: float) -> float:
    """A requests/s resolution giving at most about 30 bins over the timeline."""
    for step in (0.1, 0.25, 0.5, 1.0, 2.0, 5.0):
        if span_s / step <= 30:
            return step
    return 5.0
