"""Distributed mode: a master and two local workers; their logs merge into one timeline whose
request count equals Locust's own total (--json-file)."""

from __future__ import annotations

from pathlib import Path

from load.runner import LoadPlan, LoadRun
from probes.timeline import load_requests
from tests.probes.local_server import LocalServer


def test_two_local_workers_merge_into_locusts_total(tmp_path: Path) -> None:
    with LocalServer("web-0") as server:
        plan = LoadPlan(host=server.url, users=4, spawn_rate=4, run_time_s=3, workers=2)
        with LoadRun(plan, tmp_path) as run:
            run.wait_for_first_requests(timeout=60)
            result = run.wait()
    assert result.normal_exit, f"Locust exit code {result.exit_code}"
    files = sorted(result.request_log_dir.glob("*.jsonl"))
    assert len(files) == 2  # one per worker; the master makes no requests
    merged = load_requests(result.request_log_dir)
    assert result.total_requests is not None and result.total_requests > 0
    assert len(merged) == result.total_requests
    assert merged["start"].is_monotonic_increasing and merged["ok"].all()
