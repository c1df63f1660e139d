"""Probe diagnostics: collected by the samplers and the observation, shown beside the figures."""

from __future__ import annotations

import time
from pathlib import Path

from flexchaos.observation import Observation
from load.runner import LoadResult
from probes.capacity import CapacityProbe
from probes.diagnostics import Diagnostics, LocustExit
from probes.measures import ERROR_RATE, FAILOVER_TIME, HEALTHY_CAPACITY, RECOVERY_TIME
from probes.metrics import compute_metrics
from probes.sampler import TickLoop, TickStats
from probes.timeline import Timeline
from tests.probes import constructed as c
from tests.waiting import wait_for

T = c.T0 + 12.0


def troubled() -> Diagnostics:
    return Diagnostics(
        failed_listings=((T, "HttpResponseError: (429) Too many requests"), (T + 1, "timeout")),
        capacity_ticks=TickStats("capacity-probe", 0.25, 120, 1),
        traffic_ticks=TickStats("traffic-probe", 0.02, 1500, 0),
        traffic_skipped=7,
        locust=LocustExit(-9, False, None, None),
    )


def test_a_clean_run_has_no_caveat_and_says_so() -> None:
    clean = Diagnostics(
        capacity_ticks=TickStats("capacity-probe", 0.25, 120, 0),
        traffic_ticks=TickStats("traffic-probe", 0.02, 1500, 0),
        locust=LocustExit(1, True, 12000, 50),
    )
    assert clean.capacity_caveat() == "" and clean.traffic_caveat() == ""
    assert clean.notes() == {
        "capacity probe": "120 ticks every 250 ms, 0 late; no listing failed",
        "traffic probe": "1500 ticks every 20 ms, 0 late, 0 skipped (every in-flight slot busy)",
        "Locust": "exit 1 (normal), 12000 requests, 50 failed",
        "control plane": "no answer retried (no 429, no 5xx)",
    }


def test_retried_answers_are_noted() -> None:
    retried = Diagnostics(
        retried_answers=((0.0, 429, "GET Microsoft.Compute/virtualMachines"), (1.0, 503, "POST x"))
    )
    assert retried.notes()["control plane"] == (
        "2 answers retried by the SDK (1 throttled 429, 1 5xx); first at 00:00:00.000Z: 429 "
        "for GET Microsoft.Compute/virtualMachines"
    )


def test_troubles_are_noted_beside_the_figures_they_weaken() -> None:
    diagnostics = troubled()
    assert diagnostics.capacity_caveat() == "2 failed listings, 1 late tick"
    assert diagnostics.traffic_caveat() == "7 probe ticks skipped, Locust exit -9"
    notes = diagnostics.notes()
    assert "2 listings failed; first at " in notes["capacity probe"]
    assert notes["capacity probe"].endswith("Z: HttpResponseError: (429) Too many requests")
    assert notes["Locust"].startswith("exit -9 (ABNORMAL")

    timeline = Timeline.build(
        requests=c.requests(30.0, failing=[(10.0, 10.5)]),
        capacity=c.capacity(30.0, down={"vm-2": (10.25, 21.0)}),
        events=c.events((10.0, "inject"), (20.0, "revert")),
    )
    metrics = compute_metrics(timeline, diagnostics=diagnostics)
    assert metrics.diagnostics == diagnostics
    figures = metrics.resolution_notes()
    for capacity_figure in (HEALTHY_CAPACITY, RECOVERY_TIME):
        assert figures[capacity_figure.name].endswith("2 failed listings, 1 late tick)")
    for request_figure in (FAILOVER_TIME, ERROR_RATE):
        assert "7 probe ticks skipped, Locust exit -9" in figures[request_figure.name]
    assert figures["diagnostics: Locust"] == notes["Locust"]
    untroubled = compute_metrics(timeline).resolution_notes()
    assert not any(key.startswith("diagnostics") for key in untroubled)
    assert "failed listing" not in untroubled[HEALTHY_CAPACITY.name]


def test_a_tick_loop_counts_the_ticks_it_ran_late() -> None:
    loop = TickLoop(lambda: time.sleep(0.03), 0.01, 10.0, "slow", max_ticks=3)
    loop.start()
    wait_for(lambda: not loop.alive, timeout=5, what="three slow ticks")
    stats = loop.stats()
    assert (stats.loop, stats.interval_s, stats.ticks) == ("slow", 0.01, 3)
    assert stats.late_ticks >= 3  # each 30 ms tick overran its 10 ms slot


def test_the_observation_hands_over_what_its_probes_and_locust_report(tmp_path: Path) -> None:
    def throttled() -> list:
        raise RuntimeError("429 Too Many Requests")

    observation = Observation(
        name="test_stop_vm", lb_url="http://127.0.0.1:9/", instances=throttled,
        capacity_tick_s=0.25, users=1, rps_per_user=1.0, max_run_time_s=10.0,
        work_dir=tmp_path, time_scale=0.02, write=lambda line: None,
    )  # fmt: skip
    try:
        observation.capacity.sample()
        observation.capacity.sample()
        observation.load_result = LoadResult(
            1, 1200, 10, tmp_path, tmp_path / "requests", tmp_path / "locust.json", tmp_path / "l"
        )
        diagnostics = observation.diagnostics()
    finally:
        observation.traffic.stop()
    assert [error for _, error in diagnostics.failed_listings] == [
        "RuntimeError: 429 Too Many Requests"
    ] * 2
    assert diagnostics.capacity_ticks == TickStats("capacity-probe", 0.25, 0, 0)
    assert diagnostics.traffic_ticks is not None and diagnostics.traffic_skipped == 0
    assert diagnostics.locust == LocustExit(1, True, 1200, 10)


def test_the_capacity_probe_reports_its_failed_listings_and_ticks() -> None:
    probe = CapacityProbe(lambda: [], tick_s=0.01, max_duration_s=5, max_ticks=2).start()
    wait_for(lambda: probe.tick_stats().ticks == 2, timeout=5, what="two ticks")
    probe.stop()
    assert probe.failed_listings() == [] and probe.tick_stats().loop == "capacity-probe"
