"""Distributed mode: a master and two local workers sending load through the emulator's load
balancer; their logs merge into one timeline whose request count equals Locust's own total
(--json-file) and whose failures equal the load balancer's failed relays (none here)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx

from emulator.launcher import RunningEmulator
from load.runner import LoadPlan, LoadRun
from probes.timeline import load_requests


def test_two_local_workers_merge_into_locusts_total(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    lb_url = emulator.info.lb_url
    assert lb_url, "the emulator must announce its load balancer"
    plan = LoadPlan(host=lb_url, users=4, spawn_rate=4, run_time_s=3, workers=2)
    with LoadRun(plan, tmp_path) as run:
        run.wait_for_first_requests(timeout=60)
        result = run.wait()
    assert result.normal_exit, f"Locust exit code {result.exit_code}"
    files = sorted(result.request_log_dir.glob("*.jsonl"))
    assert len(files) == 2  # one per worker; the master makes no requests
    merged = load_requests(result.request_log_dir)
    assert result.total_requests is not None and result.total_requests > 0
    assert len(merged) == result.total_requests
    assert merged["start"].is_monotonic_increasing
    lb = httpx.get(f"{emulator.info.arm_url}/_emulator/lb", timeout=10).json()
    assert int((~merged["ok"]).sum()) == lb["failed_relays"] == 0
    assert merged["served_by"].nunique() == len(lb["backends"])  # spread over every VM


def test_an_external_worker_joins_the_master(emulator: RunningEmulator, tmp_path: Path) -> None:
    """One local worker plus one started from the outside with worker_command(), as on another
    machine; its log lands in the run's requests/ folder (a shared folder here)."""
    lb_url = emulator.info.lb_url
    assert lb_url
    plan = LoadPlan(host=lb_url, users=2, spawn_rate=2, run_time_s=3, workers=1, external_workers=1)
    run = LoadRun(plan, tmp_path)
    with run:
        host, port = run.master_address
        assert host == "127.0.0.1" and port > 0
        external = subprocess.Popen(
            run.worker_command(),
            env={**os.environ, **run.worker_environment()},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            run.wait_for_first_requests(timeout=60)
            result = run.wait()
        finally:
            if external.poll() is None:
                external.terminate()
            external.wait(timeout=15)
    assert result.normal_exit
    assert len(list(result.request_log_dir.glob("*.jsonl"))) == 2
    assert len(load_requests(result.request_log_dir)) == result.total_requests
