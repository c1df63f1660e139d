"""The verdict's limits on the timeline chart: what each figure was judged against.

The capacity floor (`min_healthy_capacity`) is a dashed line across the capacity panel; the
failover limit (`max_failover_time_s`) a dashed mark at injection + limit on the requests
panel; the recovery limit (`max_recovery_time_s`) a dashed mark at the recovery's start +
limit on the capacity panel — so a span that crosses its mark is a miss, read off the picture.
A mark beyond the chart's window is named at its right edge instead. Durations are platform
seconds in the targets and wall seconds on the axis, converted by `probes.measures.Clock`.

Artists carry gids `limit:<target key>` so tests can find them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import matplotlib.pyplot as plt

from probes.measures import Clock
from probes.metrics import Metrics

FLOOR = "min_healthy_capacity"
FAILOVER = "max_failover_time_s"
RECOVERY = "max_recovery_time_s"
LIMIT_COLOUR = {FLOOR: "#15803d", FAILOVER: "#dc2626", RECOVERY: "#15803d"}
LIMIT_STYLE = (0, (6, 3))


def draw_limits(
    cap_ax: plt.Axes,
    req_ax: plt.Axes,
    metrics: Metrics,
    limits: Mapping[str, float],
    t0: float,
    span: float,
    clock: Clock,
) -> None:
    floor = limits.get(FLOOR)
    if floor is not None:
        cap_ax.axhline(
            floor, color=LIMIT_COLOUR[FLOOR], linestyle=LIMIT_STYLE, linewidth=1.2, alpha=0.9,
            gid=f"limit:{FLOOR}", label=f"capacity floor (target ≥ {floor:.0%})",
        )  # fmt: skip
    failover = limits.get(FAILOVER)
    if failover is not None and metrics.failovers:
        start = min(f.injection for f in metrics.failovers) - t0
        _mark(req_ax, start, clock.wall(failover), span, FAILOVER,
              f"failover limit ({failover:g} s)")  # fmt: skip
    recovery = limits.get(RECOVERY)
    if recovery is not None and metrics.recovery is not None:
        start = metrics.recovery.start - t0
        if math.isfinite(start):
            _mark(cap_ax, start, clock.wall(recovery), span, RECOVERY,
                  f"recovery limit ({recovery:g} s)")  # fmt: skip


def _mark(ax: plt.Axes, start: float, limit_wall: float, span: float, key: str, text: str) -> None:
    """A dashed vertical mark at start + limit, or a note at the right edge when beyond it."""
    at = start + limit_wall
    colour = LIMIT_COLOUR[key]
    if at <= span:
        ax.axvline(at, color=colour, linestyle=LIMIT_STYLE, linewidth=1.4, alpha=0.9,
                   gid=f"limit:{key}", label=text)  # fmt: skip
        return
    ax.annotate(
        f"{text}: {at - span:.1f} s wall past the chart's end →", xy=(1.0, 0.04),
        xycoords="axes fraction", ha="right", va="bottom", fontsize=7, color=colour,
        gid=f"limit:{key}", zorder=10,
        # a white box, so the recovered/phase lines that cross the edge never cross its digits
        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
    )  # fmt: skip
