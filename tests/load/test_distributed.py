"""Distributed mode: a master and two local workers sending load through the emulator's load
balancer; their logs merge into one timeline whose request count equals Locust's own total
(--json-file) and whose failures equal the load balancer's failed relays (none here)."""

from __future__ import annotations

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
