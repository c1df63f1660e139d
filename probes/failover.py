"""Failover from the requests alone: failed requests grouped into disruptions, and the time from
an injection to the end of the disruption that follows it (docs/design.md, "Measurements").

A disruption is a run of failed requests with no quiet window inside it; it has ended only when
traffic was seen for a quiet window after its last failure, since no traffic is no evidence that
the errors stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Disruption:
    """A run of failed requests with no quiet window inside it (times: request starts)."""

    first_failure: float
    last_failure: float
    last_failure_end: float
    failures: int
    ended: bool  # a quiet window of traffic followed the last failure


@dataclass(frozen=True)
class Failover:
    """Failover after one injection: injection → last failed request of the disruption after it."""

    injection: float
    time_s: float | None  # None: no traffic after the injection; inf: errors never stopped
    disruption: Disruption | None
    traffic_after: bool


def disruptions(requests: pd.DataFrame, since: float, quiet_window_s: float) -> list[Disruption]:
    """Failed requests ending at/after `since`, grouped: a gap ≥ quiet window closes a group.

    A group has ended only if some request started at least a quiet window after its last
    failure (no traffic is no evidence that the errors stopped)."""
    ends = requests["start"] + requests["latency_ms"] / 1000
    failed = requests[(~requests["ok"]) & (ends >= since)].sort_values("start")
    if failed.empty:
        return []
    last_start = float(requests["start"].max())
    groups: list[Disruption] = []
    starts = failed["start"].to_numpy(dtype=float)
    fail_ends = (failed["start"] + failed["latency_ms"] / 1000).to_numpy(dtype=float)
    begin = 0
    for i in range(1, len(starts) + 1):
        if i == len(starts) or starts[i] - starts[i - 1] >= quiet_window_s:
            last = float(starts[i - 1])
            groups.append(
                Disruption(
                    first_failure=float(starts[begin]),
                    last_failure=last,
                    last_failure_end=float(fail_ends[begin:i].max()),
                    failures=i - begin,
                    ended=i < len(starts) or last_start >= last + quiet_window_s,
                )
            )
            begin = i
    return groups


def failover_after(
    requests: pd.DataFrame, injection: float, until: float, quiet_window_s: float
) -> Failover:
    """From `injection` to the last failure of the first disruption that follows it (and starts
    before `until`, the next injection); 0 when requests were made and none failed."""
    ends = requests["start"] + requests["latency_ms"] / 1000
    after = requests[(ends >= injection) & (requests["start"] < until)]
    if after.empty:
        return Failover(injection, None, None, traffic_after=False)
    groups = [d for d in disruptions(after, injection, quiet_window_s) if d.first_failure < until]
    if not groups:
        return Failover(injection, 0.0, None, traffic_after=True)
    first = groups[0]
    value = max(0.0, first.last_failure - injection) if first.ended else math.inf
    return Failover(injection, value, first, traffic_after=True)
