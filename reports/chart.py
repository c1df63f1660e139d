"""The timeline chart: one PNG a reviewer reads at a glance.

Top panel: healthy capacity (from capacity samples) and serving capacity (distinct instances
that answered successfully in a trailing window, from traffic alone), as fractions of the
baseline fleet. Bottom panel: requests/s and errors/s in 1 s bins. Both panels shade the phases
(baseline, fault, recovery) and mark fault events (inject, revert, abort, recovered). The
x axis is wall seconds since the timeline's start; a second axis gives platform seconds when the
emulator's time scale is not 1.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

PHASE_COLOURS = {"baseline": "#dbeafe", "fault": "#fee2e2", "recovery": "#dcfce7"}
EVENT_STYLES = {
    "inject": ("#b91c1c", "-", "inject"),
    "injected": ("#b91c1c", ":", "injected"),
    "revert": ("#1d4ed8", "-", "revert"),
    "reverted": ("#1d4ed8", ":", "reverted"),
    "abort": ("#7c2d12", "--", "abort"),
    "recovered": ("#15803d", "--", "recovered"),
}
REQUEST_COLUMNS = ["start", "latency_ms", "ok", "status", "served_by", "error", "source"]
CAPACITY_COLUMNS = ["time", "instance", "power_state", "health_state", "running", "healthy"]
EVENT_COLUMNS = ["time", "kind", "fault", "vm", "detail"]


def render_timeline(
    requests: pd.DataFrame | None,
    capacity: pd.DataFrame | None,
    events: pd.DataFrame | None,
    *,
    title: str,
    time_scale: float = 1.0,
    baseline_instances: int | None = None,
    serving_window_s: float = 1.0,
    bin_s: float | None = None,
    path: str | Path | None = None,
) -> bytes:
    """Render the timeline as PNG bytes (and write them to `path` when given).

    Frames follow the timeline schemas of docs/internals.md; any of them may be empty or None.
    `baseline_instances` defaults to the number of instances in the first capacity sample;
    `bin_s` (the requests/s resolution) defaults to about 1/30 of the timeline, 0.1 s to 5 s.
    Without `phase` events, phases are derived from the first inject and revert events.
    """
    requests = _frame(requests, REQUEST_COLUMNS)
    capacity = _frame(capacity, CAPACITY_COLUMNS)
    events = _frame(events, EVENT_COLUMNS)
    # the experiment's window is where capacity samples and fault events are; requests outside
    # it (e.g. left over from another run) are not part of this experiment
    framing = (capacity, events) if not (capacity.empty and events.empty) else (requests,)
    t0 = _start_time(*framing)
    t_end = _end_time(*framing, t0=t0)
    if not requests.empty and framing[0] is not requests:
        requests = requests[(requests["start"] >= t0) & (requests["start"] <= t_end)]
    bin_s = bin_s or _auto_bin(t_end - t0)

    figure = _figure(
        requests, capacity, events, t0, t_end,
        title=title, time_scale=time_scale, baseline_instances=baseline_instances,
        serving_window_s=serving_window_s, bin_s=bin_s,
    )  # fmt: skip
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    png = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(png)
    return png


def healthy_capacity_curve(
    capacity: pd.DataFrame, baseline_instances: int | None = None
) -> pd.DataFrame:
    """Per sample time: healthy (running and healthy) instances ÷ baseline instances."""
    capacity = _frame(capacity, CAPACITY_COLUMNS)
    if capacity.empty:
        return pd.DataFrame({"time": [], "healthy_capacity": []})
    grouped = capacity.groupby("time", sort=True)
    healthy = grouped.apply(
        lambda g: int((g["running"].astype(bool) & g["healthy"].astype(bool)).sum()),
        include_groups=False,
    )
    base = baseline_instances or int(grouped.size().iloc[0]) or 1
    return pd.DataFrame({"time": healthy.index.astype(float), "healthy_capacity": healthy / base})


def serving_capacity_curve(
    requests: pd.DataFrame,
    baseline_instances: int,
    times: Sequence[float],
    window_s: float = 1.0,
) -> np.ndarray:
    """At each time: distinct instances that answered OK in the trailing window ÷ baseline."""
    ok = requests[requests["ok"].astype(bool) & requests["served_by"].notna()]
    starts = ok["start"].to_numpy(dtype=float)
    served = ok["served_by"].astype(str).to_numpy()
    order = np.argsort(starts)
    starts, served = starts[order], served[order]
    values = np.zeros(len(times))
    for i, t in enumerate(times):
        lo, hi = np.searchsorted(starts, [t - window_s, t], side="right")
        values[i] = len(set(served[lo:hi])) / max(baseline_instances, 1)
    return values


def _figure(
    requests: pd.DataFrame,
    capacity: pd.DataFrame,
    events: pd.DataFrame,
    t0: float,
    t_end: float,
    *,
    title: str,
    time_scale: float,
    baseline_instances: int | None,
    serving_window_s: float,
    bin_s: float,
) -> Figure:
    figure, (cap_ax, req_ax) = plt.subplots(
        2, 1, sharex=True, figsize=(10, 6.2), height_ratios=[1, 1], layout="constrained"
    )
    figure.suptitle(title, fontsize=12, fontweight="bold")
    span = max(t_end - t0, bin_s)

    healthy = healthy_capacity_curve(capacity, baseline_instances)
    base = baseline_instances or (
        int(capacity.groupby("time").size().iloc[0]) if not capacity.empty else 0
    )
    if not healthy.empty:
        cap_ax.step(
            healthy["time"] - t0, healthy["healthy_capacity"], where="post",
            color="#15803d", linewidth=2, label="healthy capacity",
        )  # fmt: skip
    if not requests.empty and base:
        times = np.arange(t0 + serving_window_s, t0 + span + bin_s / 4, bin_s / 4)
        serving = serving_capacity_curve(requests, base, times, serving_window_s)
        cap_ax.plot(
            times - t0, serving, color="#7c3aed", linewidth=1.5, alpha=0.85,
            label=f"serving capacity ({serving_window_s:g} s window)",
        )  # fmt: skip
    cap_ax.set_ylim(-0.05, 1.12)
    cap_ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    cap_ax.set_ylabel("capacity (of baseline)")
    if healthy.empty and (requests.empty or not base):
        cap_ax.text(0.5, 0.5, "no capacity samples", transform=cap_ax.transAxes, ha="center")

    if requests.empty:
        req_ax.text(0.5, 0.5, "no requests recorded", transform=req_ax.transAxes, ha="center")
        req_ax.set_ylim(0, 1)
    else:
        edges = np.arange(t0, t0 + span + bin_s, bin_s)
        starts = requests["start"].to_numpy(dtype=float)
        failed = ~requests["ok"].astype(bool).to_numpy()
        total, _ = np.histogram(starts, bins=edges)
        errors, _ = np.histogram(starts[failed], bins=edges)
        centres = edges[:-1] - t0
        req_ax.step(
            centres, total / bin_s, where="post", color="#2563eb", linewidth=1.5,
            label="requests/s",
        )  # fmt: skip
        req_ax.set_ylim(0, max(1.0, float((total / bin_s).max()) * 1.15))
        # errors on their own (red) scale: a short burst stays visible next to heavy traffic
        err_ax = req_ax.twinx()
        err_ax.fill_between(centres, errors / bin_s, step="post", color="#dc2626", alpha=0.6)
        err_ax.set_ylim(0, max(1.0, float((errors / bin_s).max()) * 1.3))
        err_ax.set_ylabel("errors/s", color="#dc2626")
        err_ax.tick_params(axis="y", colors="#dc2626")
        req_ax.plot(
            [], [], color="#dc2626", linewidth=6, alpha=0.6,
            label=f"errors/s, right axis ({int(failed.sum())} failed of {len(starts)})",
        )  # fmt: skip
    req_ax.set_ylabel(f"requests/s ({bin_s:g} s bins)")
    req_ax.set_xlabel("wall seconds since start")
    req_ax.set_xlim(0, span)

    for ax in (cap_ax, req_ax):
        _shade_phases(ax, events, t0, t_end)
        _mark_events(ax, events, t0)
        ax.grid(True, alpha=0.3)
    _legend(figure, (cap_ax, req_ax))

    if time_scale != 1.0 and time_scale > 0:
        top = cap_ax.secondary_xaxis(
            "top", functions=(lambda x: x / time_scale, lambda x: x * time_scale)
        )
        top.set_xlabel(f"platform seconds (time scale {time_scale:g})", fontsize=9)
    return figure


def phase_spans(events: pd.DataFrame, t0: float, t_end: float) -> list[tuple[str, float, float]]:
    """(name, start, end) of each phase: from `phase` events, else from inject and revert."""
    phases = events[events["kind"] == "phase"].sort_values("time")
    marks = [(str(row.detail), float(row.time)) for row in phases.itertuples(index=False)]
    if not marks:
        inject = events[events["kind"] == "inject"]["time"]
        revert = events[events["kind"].isin(["revert", "recovered"])]["time"]
        if not inject.empty:
            marks = [("baseline", t0), ("fault", float(inject.min()))]
            after = revert[revert >= inject.min()]
            if not after.empty:
                marks.append(("recovery", float(after.min())))
    return [
        (name, start, marks[i + 1][1] if i + 1 < len(marks) else t_end)
        for i, (name, start) in enumerate(marks)
    ]


def _shade_phases(ax: plt.Axes, events: pd.DataFrame, t0: float, t_end: float) -> None:
    for name, start, end in phase_spans(events, t0, t_end):
        ax.axvspan(
            start - t0, end - t0, color=PHASE_COLOURS.get(name, "#f3f4f6"), alpha=0.6, zorder=0,
            label=f"phase: {name}",
        )  # fmt: skip


def _mark_events(ax: plt.Axes, events: pd.DataFrame, t0: float) -> None:
    for row in events[events["kind"].isin(list(EVENT_STYLES))].itertuples(index=False):
        colour, style, label = EVENT_STYLES[str(row.kind)]
        ax.axvline(float(row.time) - t0, color=colour, linestyle=style, linewidth=1.6, label=label)


def _legend(figure: Figure, axes: Sequence[plt.Axes]) -> None:
    """One legend under both panels: curves first, then phases and events, each once."""
    unique: dict[str, object] = {}
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        for handle, label in zip(handles, labels, strict=True):
            unique.setdefault(label, handle)
    if unique:
        figure.legend(
            list(unique.values()), list(unique.keys()), loc="outside lower center",
            ncol=min(len(unique), 6), fontsize=8, frameon=False,
        )  # fmt: skip


def _auto_bin(span_s: float) -> float:
    """A requests/s resolution giving at most about 30 bins over the timeline."""
    for step in (0.1, 0.25, 0.5, 1.0, 2.0, 5.0):
        if span_s / step <= 30:
            return step
    return 5.0


def _frame(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame({c: [] for c in columns})
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"timeline frame lacks columns {missing}; expected {columns}")
    return frame


def _start_time(*frames: pd.DataFrame) -> float:
    candidates = [float(_times(frame).min()) for frame in frames if not frame.empty]
    return min(candidates) if candidates else 0.0


def _end_time(*frames: pd.DataFrame, t0: float) -> float:
    candidates = [float(_times(frame).max()) for frame in frames if not frame.empty]
    end = max(candidates) if candidates else t0 + 1.0
    return end if math.isfinite(end) and end > t0 else t0 + 1.0


def _times(frame: pd.DataFrame) -> pd.Series:
    return frame["start"] if "start" in frame.columns else frame["time"]
