"""How long one request may take before it counts as failed: Locust's users and the traffic probe.

These timeouts bound what the run measures. A new flow that the load balancer sends to a VM
that is not running gets no answer at all (Azure forwards it to a VM that cannot answer; the
emulator black-holes it, docs/emulator-data-plane.md), so such a request fails after exactly
its client's timeout: the timeout is its latency (failed requests count in the latency
percentiles) and, for a closed-loop Locust user, how long that user sends nothing else.

Set in platform seconds, as a client on Azure would set them: Locust 5 s, the traffic probe 2 s
(it must never hold its 50 Hz schedule hostage: ceil(rate × timeout) + 1 requests in flight at
most). On the emulator they are scaled by the time scale, so that a stuck user misses the same
share of a probe interval as on Azure, but never below MIN_WALL_TIMEOUT_S wall: a healthy answer
on a loaded two-core machine can take a few hundred milliseconds (event-loop stalls, garbage
collection), and cutting it would count a healthy request as failed. Measured over 58,079
successful requests of bench/bench_failover_accuracy.py at load average 25 on two cores:
p99.9 285 ms, p99.99 411 ms, max 509 ms, so 0.5 s cuts about one healthy request in 50,000 there.
At the emulator's 0.05 both are 0.5 s wall (10 platform seconds, two 5 s probe intervals, where
a user stuck on Azure misses one).
"""

from __future__ import annotations

LOCUST_TIMEOUT_PLATFORM_S = 5.0
PROBE_TIMEOUT_PLATFORM_S = 2.0
MIN_WALL_TIMEOUT_S = 0.5


def wall_timeout(platform_s: float, time_scale: float) -> float:
    """The wall-clock timeout of a request set as `platform_s` platform seconds."""
    return max(MIN_WALL_TIMEOUT_S, platform_s * time_scale)


def locust_timeout(time_scale: float) -> float:
    """Locust's connection and network timeout (FLEXCHAOS_TIMEOUT_S), wall seconds."""
    return wall_timeout(LOCUST_TIMEOUT_PLATFORM_S, time_scale)


def probe_timeout(time_scale: float) -> float:
    """The traffic probe's timeout per request, wall seconds."""
    return wall_timeout(PROBE_TIMEOUT_PLATFORM_S, time_scale)
