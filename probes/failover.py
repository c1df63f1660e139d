"""Failover from the requests alone: failed requests grouped into disruptions, and the time from
the injection to the end of the last disruption the fault caused (docs/design.md,
"Measurements").

Defined so that it cannot hide a disruption:
- only failures that *started* at or after the injection count: a request already in flight
  when the fault was injected says nothing about how the fleet handled the fault;
- a disruption is a run of failed requests with no quiet window inside it, and the quiet window
  is the load balancer's own mark-down time (probe interval × threshold, `ProbeSettings`): no
  shorter stretch without failures proves the balancer stopped sending flows to a dead backend;
- the figure runs to the end of the **last** disruption that began within hold and recovery,
  not the first: one stray early failure must not set it while the real disruption comes later
  (a broken health extension's errors come when repairs replace the VM, minutes later);
- a fault injected in waves (several VMs, several calls) is one fault, timed from its first
  injection.
A disruption has ended only when traffic was seen for a quiet window after its last failure: no
traffic is no evidence that the errors stopped. And the last failed request is no evidence that
no later flow could fail: when the load balancer stopped routing to a target VM after it (or no
request failed at all), the figure runs to that routing change, the last moment a new flow could
have failed (`seen_by_the_load_balancer`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

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
    """The fault's failover: its first injection → the last failure of the last disruption
    that began within the fault window (hold and recovery)."""

    injection: float
    time_s: float | None  # None: no traffic after the injection; inf: errors never stopped
    disruption: Disruption | None  # the last one counted
    traffic_after: bool
    counted: int = 0  # disruptions within the fault window (every one is in Metrics.disruptions)
    from_routing: str | None = None  # the VM whose routing change set the figure (none failed)


def disruptions(requests: pd.DataFrame, since: float, quiet_window_s: float) -> list[Disruption]:
    """Failed requests that started at/after `since`, grouped: a gap ≥ quiet window between
    failure starts closes a group.

    A group has ended only if some request started at least a quiet window after its last
    failure (no traffic is no evidence that the errors stopped)."""
    failed = requests[(~requests["ok"]) & (requests["start"] >= since)].sort_values("start")
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


def failover(
    requests: pd.DataFrame, injection: float, window_end: float, quiet_window_s: float
) -> Failover:
    """From `injection` to the last failure of the last disruption that began by `window_end`
    (healthy capacity back, or the end of the observation); 0 when requests were made and none
    failed (whether they were enough to see a failure is the evidence's call, not this one's)."""
    if requests.empty or not bool((requests["start"] >= injection).any()):
        return Failover(injection, None, None, traffic_after=False)
    counted = [
        d for d in disruptions(requests, injection, quiet_window_s) if d.first_failure <= window_end
    ]
    if not counted:
        return Failover(injection, 0.0, None, traffic_after=True)
    last = counted[-1]
    value = last.last_failure - injection if last.ended else math.inf
    return Failover(injection, value, last, traffic_after=True, counted=len(counted))


def seen_by_the_load_balancer(result: Failover, routing_stopped: dict[str, float]) -> Failover:
    """The load balancer stopped routing to a target VM after the injection (`routing_stopped`:
    VM → when, from the balancer's own health status) later than the figure's end, or no request
    failed at all: a new flow could have failed until that change, so the failover runs to it.

    Failed requests see a disruption only where flows happened to land. A Spot eviction read 0
    or ~30 s platform by chance (its VM serves through the 30 s notice, and the window between
    its going and the probe's mark-down is often shorter than the gap between two flows to it);
    with flows black-holed as Azure does, a closed-loop user whose flow hangs sends nothing
    more, so the last failure comes early (bench/results/failover_accuracy.md)."""
    if result.time_s is None or math.isinf(result.time_s):
        return result
    end = result.injection + result.time_s
    after = {
        vm: at for vm, at in routing_stopped.items() if math.isfinite(at) and at > end
    }
    if not after:
        return result
    vm = max(after, key=lambda name: after[name])
    return replace(result, time_s=after[vm] - result.injection, from_routing=vm)
