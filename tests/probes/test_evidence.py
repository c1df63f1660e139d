"""Evidence behind every figure: a gap in it leaves the figure not judged, and not judged never
passes (issue 12, cases 2, 5 and 8), on constructed timelines whose gaps are known."""

from __future__ import annotations

import numpy as np
import pytest

from probes.diagnostics import Diagnostics, LocustExit
from probes.measures import Clock
from probes.metrics import Metrics, compute_metrics
from probes.timeline import Timeline
from reports.targets import Targets
from reports.verdict import Verdict, judge
from tests.probes import constructed as c

TARGETS = Targets(
    "test_x",
    {
        "min_healthy_capacity": 0.8,
        "max_failover_time_s": 30.0,
        "max_error_rate": 0.05,
        "max_p95_latency_ms": 1000.0,
        "max_recovery_time_s": 180.0,
    },
)
CAPACITY_FIGURES = {"min_healthy_capacity", "recovery_time_s"}
REQUEST_FIGURES = {"error_rate", "p50_latency_ms", "p95_latency_ms", "p99_latency_ms"}


def verdict_of(m: Metrics, scale: float = 1.0) -> Verdict:
    """As the lifecycle judges: the evidence's gaps are not judged."""
    return judge(
        TARGETS, m.as_measurements(), time_scale=scale, not_judged=m.not_judged,
        details=m.details(),
    )  # fmt: skip


def stop_vm(*, capacity_gap: tuple[float, float] | None = None, every: float = 0.01) -> Timeline:
    """Stop vm-2 at 10 s (0.5 s of failures), revert at 20 s, back at 21 s (wall = platform)."""
    capacity = c.capacity(30.0, down={"vm-2": (10.25, 21.0)})
    if capacity_gap is not None:
        a, b = capacity_gap
        capacity = [r for r in capacity if not a < r["time"] - c.T0 < b]
    return Timeline.build(
        requests=c.requests(30.0, every=every, failing=[(10.0, 10.5)], absent={"vm-2": (10, 21)}),
        capacity=capacity,
        events=c.events((10.0, "inject"), (20.0, "revert")),
    )


def clean_locust(timeline: Timeline) -> Diagnostics:
    logged = int((timeline.requests["source"] == "locust").sum())
    return Diagnostics(locust=LocustExit(1, True, logged, 50))


def test_a_run_with_full_evidence_is_fully_judged() -> None:
    timeline = stop_vm()
    m = compute_metrics(timeline, diagnostics=clean_locust(timeline))
    assert m.not_judged == {}
    verdict = verdict_of(m)
    assert verdict.state == "passed" and not verdict.not_judged()
    notes = m.resolution_notes()
    assert notes["evidence: capacity"].startswith("44 capacity samples in the fault window")
    assert "largest gap 0.25 s" in notes["evidence: capacity"]
    assert "83.4 new flows per target VM per probe interval" in notes["evidence: traffic"]


def test_no_capacity_sample_for_longer_than_a_probe_interval_is_not_judged() -> None:
    """Listings missing for 7 s of a 5 s probe interval: the dip could hide in the gap."""
    m = compute_metrics(stop_vm(capacity_gap=(12.0, 19.0)))
    assert set(m.not_judged) == CAPACITY_FIGURES
    why = m.not_judged["min_healthy_capacity"]
    assert why.startswith("no capacity sample for 7.00 s between injection and recovery")
    assert "more than the 5.00 s allowed" in why
    verdict = verdict_of(m)
    assert verdict.state == "inconclusive"  # it read 0.833 PASS before
    assert {row.target for row in verdict.not_judged()} == {
        "min_healthy_capacity", "max_recovery_time_s"
    }  # fmt: skip


def test_failed_listings_are_gaps_and_are_counted() -> None:
    timeline = stop_vm(capacity_gap=(12.0, 19.0))
    failed = tuple((c.T0 + t, "HttpResponseError: (429) Too many requests") for t in (13.0, 16.0))
    m = compute_metrics(timeline, diagnostics=Diagnostics(failed_listings=failed))
    assert m.not_judged["recovery_time_s"].endswith("; 2 listings failed")
    assert "2 failed listings" in m.resolution_notes()["evidence: capacity"]


def test_a_gap_at_the_injection_counts_too() -> None:
    """From the injection to the first sample after it is a stretch without a sample."""
    m = compute_metrics(stop_vm(capacity_gap=(9.0, 16.0)))
    assert set(m.not_judged) == CAPACITY_FIGURES


def test_too_few_new_flows_per_vm_to_see_a_probe_interval_is_not_judged() -> None:
    """The Spot eviction of issue 12: "0.0 s PASS" with nothing failing, from traffic too thin to
    reach the VM while it went away. On the emulator (0.05) a 5 s probe is 0.25 s wall; 20
    requests/s over 6 VMs put under one new flow on a VM per interval."""
    thin = Timeline.build(
        requests=c.requests(30.0, every=0.05),
        capacity=c.capacity(30.0, tick=0.1, down={"vm-2": (10.25, 21.0)}),
        events=c.events((10.0, "inject"), (20.0, "revert")),
    )
    m = compute_metrics(thin, clock=Clock(0.05))
    assert m.failover_time_s == 0.0  # nothing failed...
    assert set(m.not_judged) == {"failover_time_s"}  # ...and nothing could have been seen
    assert m.not_judged["failover_time_s"].startswith(
        "too little traffic to see a probe interval: 0.8 new flows per target VM per probe "
        "interval during the fault (at least 15 needed"
    )
    verdict = verdict_of(m, scale=0.05)
    assert verdict.state == "inconclusive"
    assert [r.result_text() for r in verdict.rows if r.target == "max_failover_time_s"] == [
        "NOT JUDGED"
    ]
    dense = Timeline.build(
        requests=c.requests(30.0, every=0.001),
        capacity=c.capacity(30.0, tick=0.1, down={"vm-2": (10.25, 21.0)}),
        events=c.events((10.0, "inject"), (20.0, "revert")),
    )
    assert compute_metrics(dense, clock=Clock(0.05)).not_judged == {}  # 41.7 per interval


def balancer_view(down_from: float | None, every: float = 0.1) -> list[dict[str, object]]:
    """The balancer's health status every `every` s: vm-2 out of rotation from `down_from` to
    21 s (never, when None)."""
    rows: list[dict[str, object]] = []
    for t in np.arange(0.0, 30.0, every):
        for vm in c.VMS:
            down = vm == "vm-2" and down_from is not None and down_from <= t < 21.0
            rows.append(
                {"time": c.T0 + float(t), "instance": vm, "state": "down" if down else "up",
                 "reason": "Down_Probe_HttpEndpointUnreachable" if down else None}
            )  # fmt: skip
    return rows


def thin_stop(route: list[dict[str, object]]) -> Timeline:
    """0.8 new flows per VM per probe interval (as in the test above), with the balancer's view."""
    return Timeline.build(
        requests=c.requests(30.0, every=0.05),
        capacity=c.capacity(30.0, tick=0.1, down={"vm-2": (10.25, 21.0)}),
        events=c.events((10.0, "inject"), (20.0, "revert")),
        routing=route,
    )


def test_thin_traffic_is_judged_when_the_balancer_showed_every_target_leave_rotation() -> None:
    """A 1000-VM fleet: no load generator sends 15 flows per VM per probe interval. The
    balancer's own routing, sampled within a probe interval, showed vm-2 leave rotation at 10.5
    s: no new flow could reach it after that, so failover runs to that change, judged."""
    m = compute_metrics(thin_stop(balancer_view(10.5)), clock=Clock(0.05))
    assert "failover_time_s" not in m.not_judged
    assert m.failover_time_s == pytest.approx(0.45)  # up at 10.4, down at 10.5: the midpoint
    note = m.resolution_notes()["evidence: traffic"]
    assert "0.8 new flows per target VM per probe interval (under 15: failover judged from the " \
        "load balancer's routing" in note


def test_thin_traffic_stays_not_judged_when_the_balancer_never_dropped_the_target() -> None:
    """A probe that never marks the VM down (a design miss): per-VM traffic is the only
    evidence, and it is too thin."""
    m = compute_metrics(thin_stop(balancer_view(None)), clock=Clock(0.05))
    assert m.not_judged["failover_time_s"].startswith("too little traffic")


def test_thin_traffic_stays_not_judged_when_the_routing_samples_are_too_far_apart() -> None:
    """Health queries 0.5 s wall apart, twice the 0.25 s wall probe interval at 0.05: the change
    is not pinned down, so the routing proves nothing the traffic cannot."""
    m = compute_metrics(thin_stop(balancer_view(10.5, every=0.5)), clock=Clock(0.05))
    assert m.not_judged["failover_time_s"].startswith("too little traffic")


def test_a_stretch_without_any_request_during_the_fault_is_not_judged() -> None:
    rows = [r for r in c.requests(30.0, every=0.001) if not 14.0 <= r["start"] - c.T0 < 21.0]
    timeline = Timeline.build(
        requests=rows,
        capacity=c.capacity(30.0, down={"vm-2": (10.25, 21.0)}),
        events=c.events((10.0, "inject"), (20.0, "revert")),
    )
    m = compute_metrics(timeline)
    assert set(m.not_judged) == {"failover_time_s"}
    assert m.not_judged["failover_time_s"].startswith("no request for 7.00 s during the fault")


@pytest.mark.parametrize(
    ("locust", "why"),
    [
        (LocustExit(-9, False, None, None), "Locust ended abnormally (exit -9)"),
        (LocustExit(2, False, 3000, 50), "Locust ended abnormally (exit 2)"),
        (LocustExit(0, True, None, None), "Locust wrote no totals"),
        (LocustExit(1, True, 900, 50), "Locust counted 900 requests but its request log holds"),
    ],
)  # fmt: skip
def test_a_locust_crash_leaves_the_request_figures_not_judged(locust: LocustExit, why: str) -> None:
    """The figures then rest on the 50 Hz probe alone: not enough for error rate or latency."""
    m = compute_metrics(stop_vm(), diagnostics=Diagnostics(locust=locust))
    assert set(m.not_judged) == REQUEST_FIGURES | {"failover_time_s"}
    assert all(reason.startswith(why) for reason in m.not_judged.values())
    assert verdict_of(m).state == "inconclusive"


def test_locust_stopping_mid_fault_is_seen_from_its_request_log() -> None:
    """Locust exited normally and its totals match its log, but its log stops 2 s into the
    fault: only the probe's requests covered the rest of it."""
    locust = [r for r in c.requests(30.0, failing=[(10.0, 10.5)]) if r["start"] - c.T0 < 12.0]
    probe = [{**r, "source": "probe"} for r in c.requests(30.0, every=0.02)]
    timeline = Timeline.build(
        requests=locust + probe,
        capacity=c.capacity(30.0, down={"vm-2": (10.25, 21.0)}),
        events=c.events((10.0, "inject"), (20.0, "revert")),
    )
    m = compute_metrics(timeline, diagnostics=Diagnostics(locust=LocustExit(1, True, 1200, 50)))
    assert m.not_judged["error_rate"].startswith("Locust's traffic stopped 9.01 s before the fault")
    assert "p95_latency_ms" in m.not_judged
    assert verdict_of(m).state == "inconclusive"


def test_late_and_skipped_probe_ticks_are_reported_with_the_evidence() -> None:
    from probes.sampler import TickStats

    timeline = stop_vm()
    diagnostics = Diagnostics(
        traffic_ticks=TickStats("traffic-probe", 0.02, 1500, 4),
        traffic_skipped=3,
        locust=clean_locust(timeline).locust,
    )
    notes = compute_metrics(timeline, diagnostics=diagnostics).resolution_notes()
    assert "3 probe ticks skipped, 4 late probe ticks" in notes["failover_time_s"]
    assert notes["diagnostics: traffic probe"].startswith("1500 ticks every 20 ms, 4 late")


def test_a_fleet_that_never_recovers_fails_rather_than_going_unjudged() -> None:
    """The capacity probe stops before the traffic does: that last stretch is no gap. Listings
    that failed after the last sample are one."""
    timeline = Timeline.build(
        requests=c.requests(35.0, failing=[(10.0, 10.5)]),
        capacity=c.capacity(30.0, down={"vm-2": (10.25, 99.0)}),
        events=c.events((10.0, "inject"), (20.0, "revert")),
    )
    m = compute_metrics(timeline, diagnostics=clean_locust(timeline))
    assert m.not_judged == {}
    verdict = verdict_of(m)
    assert verdict.state == "failed"
    assert [r.measured_text() for r in verdict.missed()] == ["never ended"]
    failing = Diagnostics(
        failed_listings=tuple((c.T0 + t, "timeout") for t in (31.0, 33.0, 34.9)),
        locust=clean_locust(timeline).locust,
    )
    unseen = compute_metrics(timeline, diagnostics=failing)
    assert set(unseen.not_judged) == CAPACITY_FIGURES
    assert "3 listings failed" in unseen.not_judged["recovery_time_s"]
