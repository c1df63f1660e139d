"""The request timeouts the harness gives Locust and the traffic probe: set in platform
seconds, scaled by the time scale, never below a wall floor (flexchaos/request_timeouts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexchaos.observation import Observation
from flexchaos.request_timeouts import MIN_WALL_TIMEOUT_S, locust_timeout, probe_timeout
from load.env import TIMEOUT_ENV
from probes.traffic import MAX_IN_FLIGHT


@pytest.mark.parametrize(
    ("time_scale", "locust_s", "probe_s"),
    [
        (1.0, 5.0, 2.0),
        (0.05, MIN_WALL_TIMEOUT_S, MIN_WALL_TIMEOUT_S),
        (0.5, 2.5, 1.0),
        (0.2, 1.0, 0.5),
    ],
)
def test_timeouts_follow_the_platform_clock_above_a_wall_floor(
    time_scale: float, locust_s: float, probe_s: float
) -> None:
    assert locust_timeout(time_scale) == locust_s
    assert probe_timeout(time_scale) == probe_s


def test_observation_hands_the_timeouts_to_locust_and_the_traffic_probe(tmp_path: Path) -> None:
    watch = Observation(
        name="test_stop_vm", lb_url="http://127.0.0.1:9/", instances=list,
        capacity_tick_s=0.05, users=1, rps_per_user=1.0, max_run_time_s=10.0,
        work_dir=tmp_path, time_scale=1.0, write=lambda line: None,
    )  # fmt: skip
    try:
        assert watch.load.plan.env[TIMEOUT_ENV] == "5"
        assert watch.traffic.timeout_s == 2.0
        # ceil(50 Hz x 2 s) + 1, capped: a sixth of the flows black-holed for 2 s hold ~17
        assert watch.traffic.max_in_flight == min(MAX_IN_FLIGHT, 50 * 2 + 1)
    finally:
        watch.traffic.stop()
