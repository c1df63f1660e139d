"""`flexchaos rollback` stops the load generators a killed run left behind, recorded beside the
journal — and never a process that merely holds a recorded pid now (issue 14)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from load.registry import LoadRegistry, registry_beside
from load.runner import LoadPlan, LoadRun
from tests.load.test_orphans import alive
from tests.probes.local_server import LocalServer

REPO = Path(__file__).resolve().parents[2]


def rollback(work_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flexchaos", "rollback", "--work-dir", str(work_dir)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def backdate_run(path: Path, run: str) -> None:
    """Record `run`'s processes as started long ago. Only that run's lines: the bystander and
    Locust can start within one clock tick, so their start times may be equal."""
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records:
        if record.get("run") == run:
            record["create_time"] = 1000.0
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))


def test_rollback_stops_load_left_running_and_spares_a_recycled_pid(tmp_path: Path) -> None:
    registry = LoadRegistry(registry_beside(tmp_path / "journal.jsonl"), "killed-run")
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    with LocalServer(mode="ok") as server:
        run = LoadRun(LoadPlan(host=server.url, users=1, spawn_rate=1, run_time_s=300), tmp_path)
        run.start()
        try:
            run.wait_for_first_requests(timeout=60)
            registry.record_started(run.processes())
            # A run whose pid was recycled: the bystander holds it now, started at another time.
            stale = LoadRegistry(registry.path, "older-run")
            stale.record_started([("master", bystander.pid)])
            backdate_run(registry.path, "older-run")
            [locust] = [pid for _, pid in run.processes()]

            first = rollback(tmp_path)
            assert first.returncode == 0, first.stdout + first.stderr
            assert f"run killed-run (master, pid {locust}) was left running: stopped" in (
                first.stdout
            )
            assert f"pid {bystander.pid} now belongs to another process, not touched" in (
                first.stdout
            )
            assert not alive(locust)
            assert bystander.poll() is None  # never touched

            second = rollback(tmp_path)
            assert second.returncode == 0
            assert "no load generator left running" in second.stdout
        finally:
            run.stop(grace_s=5)
            bystander.kill()
            bystander.wait(timeout=10)


def test_a_run_reads_only_its_own_request_logs(tmp_path: Path) -> None:
    """An orphan of a killed run writes under its own run id; the next run never reads it."""
    from flexchaos.observation import Observation

    orphan = tmp_path / "locust" / "killed-run" / "requests"
    orphan.mkdir(parents=True)
    line = '{"start": 1.0, "latency_ms": 5.0, "ok": false, "status": 0, "served_by": null}\n'
    (orphan / "master.jsonl").write_text(line * 1532)
    observation = Observation(
        name="test_stop_vm", lb_url="http://127.0.0.1:9", instances=list, capacity_tick_s=0.1,
        users=1, rps_per_user=1.0, max_run_time_s=10.0, work_dir=tmp_path, time_scale=0.05,
        write=lambda line: None,
        registry=LoadRegistry(registry_beside(tmp_path / "journal.jsonl"), "next-run"),
    )  # fmt: skip
    assert observation.load.request_log_dir == tmp_path / "locust" / "next-run" / "requests"
    assert observation.requests().empty
