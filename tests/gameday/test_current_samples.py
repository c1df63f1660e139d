"""The lifecycle reads capacity from samples taken after the fault, never from an older one
(issue 12, case 2): a failed listing leaves the last successful sample in place, and that one
may show the fleet whole from before the injection."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from fleet.clients import Endpoint
from fleet.target import FleetTarget
from flexchaos.fleet_spec import Fleet
from flexchaos.lifecycle import Experiment, RunOptions
from flexchaos.observation import Observation
from flexchaos.scenario import Scenario
from reports.targets import Targets


def vm(name: str) -> SimpleNamespace:
    return SimpleNamespace(
        name=name, power_state="running", health_state="healthy", running=True, healthy=True
    )


def listing_that_fails_after_one_sample() -> Callable[[], list[Any]]:
    calls = {"n": 0}

    def instances() -> list[Any]:
        calls["n"] += 1
        if calls["n"] > 1:
            raise RuntimeError("HttpResponseError: (429) Too many requests")
        return [vm("vm-0"), vm("vm-1")]

    return instances


def observation(tmp_path: Path, instances: Callable[[], list[Any]]) -> Observation:
    return Observation(
        name="test_stop_vm", lb_url="http://127.0.0.1:9/", instances=instances,
        capacity_tick_s=0.01, users=1, rps_per_user=1.0, max_run_time_s=10.0,
        work_dir=tmp_path, time_scale=0.001, write=lambda line: None,
    )  # fmt: skip


def test_a_sample_older_than_the_fault_is_unknown_not_healthy(tmp_path: Path) -> None:
    watch = observation(tmp_path, listing_that_fails_after_one_sample())
    try:
        watch.capacity.sample()
        injected_at = time.time()
        watch.capacity.sample()  # the listing fails: the only sample predates the injection
        assert watch.healthy_since(injected_at - 3600) == 2
        assert watch.healthy_since(injected_at) is None
    finally:
        watch.traffic.stop()


def test_recover_does_not_call_a_fleet_recovered_on_a_failed_listing(tmp_path: Path) -> None:
    """Listings fail for the whole recovery wait: nothing shows the fleet whole again, so the
    experiment must not record `recovered` (it did, reading the pre-fault sample)."""
    target = FleetTarget(Endpoint("http://127.0.0.1:9"), "sub", "rg", "vmss-web")
    lines: list[str] = []
    experiment = Experiment(
        Scenario("test_stop_vm", "stop", recovery_limit_s=100.0),  # 0.1 s wall at 0.001
        Fleet(target, "http://127.0.0.1:9/", time_scale=0.001),
        Targets("test_stop_vm", {}),
        RunOptions(work_dir=tmp_path, journal=tmp_path / "journal.jsonl"),
        write=lines.append,
    )
    watch = observation(tmp_path, listing_that_fails_after_one_sample())
    try:
        watch.capacity.sample()  # the fleet whole, before the fault
        experiment._observation = watch
        experiment._baseline_count = 2
        experiment.outcome.injection = SimpleNamespace(requested_at=time.time())  # type: ignore[assignment]
        experiment.recover()
    finally:
        watch.traffic.stop()
    assert [e["kind"] for e in experiment.outcome.events] == ["not_recovered"]
    assert lines == ["  [test_stop_vm] not recovered within 100 platform s"]
    assert len(watch.capacity.failed_listings()) >= 1
