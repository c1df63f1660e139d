"""Capacity as curves: healthy capacity from the VM listings and serving capacity from the
traffic alone, both as fractions of the instances at baseline (docs/design.md, "Measurements").
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from probes.timeline import Timeline


def baseline_instance_count(timeline: Timeline) -> int | None:
    """Instances in the last capacity tick before the first injection (the first tick if none)."""
    capacity = timeline.capacity
    if capacity.empty:
        return None
    inject = min(timeline.injections(), default=None)
    ticks = capacity["time"]
    before = ticks[ticks < inject] if inject is not None else ticks.iloc[:0]
    tick = before.max() if not before.empty else ticks.min()
    return int(capacity.loc[ticks == tick, "instance"].nunique())


def healthy_capacity_curve(timeline: Timeline, baseline: int | None) -> pd.DataFrame:
    """Per tick: instances running and healthy, instances listed, and healthy ÷ baseline."""
    capacity = timeline.capacity
    if capacity.empty or not baseline:
        return pd.DataFrame({"time": [], "healthy": [], "total": [], "capacity": []})
    up = capacity.assign(up=capacity["running"] & capacity["healthy"])
    curve = up.groupby("time", sort=True).agg(healthy=("up", "sum"), total=("instance", "nunique"))
    curve = curve.reset_index()
    curve["capacity"] = curve["healthy"] / baseline
    return curve


def serving_capacity_curve(
    timeline: Timeline, window_s: float, denominator: int | None
) -> pd.DataFrame:
    """Distinct instances answering successfully in the trailing window, from traffic alone.

    Evaluated every window/4, only for windows inside a stretch of continuous traffic (no gap
    over half a window): a window without requests is no evidence, and is skipped rather than
    counted as zero."""
    requests = timeline.requests
    empty = pd.DataFrame({"time": [], "serving": [], "capacity": []})
    if requests.empty:
        return empty
    starts = requests["start"].to_numpy(dtype=float)
    ok = requests["ok"].to_numpy(dtype=bool)
    served = requests["served_by"].fillna("").to_numpy(dtype=str)
    first, last = float(starts.min()), float(starts.max())
    if denominator is None:
        base_end = min(timeline.injections(), default=math.inf)
        denominator = len(set(served[ok & (starts < base_end) & (served != "")])) or None
    if not denominator:  # no baseline instance: a share of nothing is no figure
        return empty
    step = window_s / 4
    grid = (
        first
        + window_s
        + step * np.arange(max(0, math.floor((last - first - window_s) / step + 0.5)) + 1)
    )
    if grid.size == 0 or grid[0] > last + step / 2:
        return empty

    def in_window(times: np.ndarray) -> np.ndarray:
        """How many of the sorted `times` fall in (t - window, t] for each grid time t."""
        return np.searchsorted(times, grid, side="right") - np.searchsorted(
            times, grid - window_s, side="right"
        )

    # Traffic observed continuously: runs of requests with gaps under half a window. A window
    # counts only if it lies inside one run (after a gap, wait a full window again).
    ordered = np.sort(starts)
    breaks = np.flatnonzero(np.diff(ordered) > window_s / 2)
    run_starts = np.concatenate(([ordered[0]], ordered[breaks + 1]))
    run_ends = np.concatenate((ordered[breaks], [ordered[-1]]))
    run = np.searchsorted(run_starts, grid, side="right") - 1
    seen = (run >= 0) & (grid - window_s >= run_starts[run] - 1e-9)
    seen &= grid <= run_ends[run] + step / 2
    serving = np.zeros(grid.size, dtype=int)
    good = ok & (served != "")
    for name in set(served[good]):
        serving += in_window(np.sort(starts[good & (served == name)])) > 0
    curve = pd.DataFrame({"time": grid, "serving": serving, "capacity": serving / denominator})
    return curve[seen].reset_index(drop=True)


# -- recovery --------------------------------------------------------------------------------
