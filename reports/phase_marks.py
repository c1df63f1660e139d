"""The failover phases on the chart: a mark at each phase of each target VM and the detection
span, named as the terminal names them (probes/phases.py): call accepted, VM state reached, LB
stopped routing, last failed request, capacity back.

Drawn from `Metrics.failover_phases`; nothing is recomputed here. Each mark carries the gid
`phase_mark:<key>` and the span `detection` (its text `detection:text`), so tests can find them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import matplotlib.pyplot as plt

from probes.measures import Clock
from probes.phases import FROM_LAST_REQUEST, FailoverPhases

MARK_COLOURS = {  # apart from the events' reds, blues and greens
    "accepted": "#4b5563",
    "state_reached": "#d97706",
    "routing_stopped": "#0891b2",
    "last_failure": "#c026d3",
    "capacity_back": "#65a30d",
}
MARK_STYLE = (0, (4, 1.5, 1, 1.5))  # dash-dot: the events are solid, dotted or dashed
DETECTION_Y = 0.78  # axes fraction: under the failover span (0.9)

Bracket = Callable[..., None]  # reports.chart._bracket: (ax, start, end, y, text, colour, gid)


def draw_failover_phases(
    ax: plt.Axes,
    phases: FailoverPhases | None,
    t0: float,
    t_end: float,
    clock: Clock,
    bracket: Bracket,
) -> None:
    """Marks for every phase time and the span from the slowest VM's call to its detection."""
    if phases is None:
        return
    for mark in phases.marks():
        ax.axvline(
            mark.time - t0, color=MARK_COLOURS[mark.key], linestyle=MARK_STYLE, linewidth=1.4,
            label=mark.label, gid=f"phase_mark:{mark.key}", zorder=3,
        )  # fmt: skip
    timed = [v for v in phases.vms if v.detection_time_s is not None]
    if not timed:
        return
    slowest = max(timed, key=lambda v: v.detection_time_s or 0.0)
    start = slowest.accepted - t0
    detection = slowest.detection_time_s
    assert detection is not None
    if math.isinf(detection):
        text, end = "LB never stopped routing", t_end - t0
    else:
        text, end = f"detection {_duration(detection, clock)}", start + detection
        if slowest.routing_source == FROM_LAST_REQUEST:
            text += f" ({FROM_LAST_REQUEST})"
    bracket(ax, start, end, DETECTION_Y, text, MARK_COLOURS["routing_stopped"], "detection",
            axes_y=True)  # fmt: skip


def _duration(wall_s: float, clock: Clock) -> str:
    if not clock.scaled:
        return f"{wall_s:.2f} s"
    return f"{clock.platform(wall_s):.1f} s platform ({wall_s:.2f} s wall)"
