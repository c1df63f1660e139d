"""The load runner: Locust in child processes, bounded, stopped cleanly, every request logged.

The target here is a small local server (tests/probes/local_server.py), so these tests check
the runner and the request log themselves: counts, exit codes, connections per request.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flexchaos.errors import LoadError
from load.runner import LoadPlan, LoadRun
from probes.timeline import load_requests
from tests.probes.local_server import LocalServer
from tests.waiting import wait_for


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"host": "127.0.0.1:8080"}, "not an http"),
        ({"users": 0}, "users=0"),
        ({"spawn_rate": 0}, "spawn_rate"),
        ({"run_time_s": 0}, "run_time_s"),
        ({"run_time_s": 10**6}, "run_time_s"),
        ({"workers": -1}, "workers"),
        ({"locustfile": Path("/nonexistent/locustfile.py")}, "does not exist"),
    ],
)
def test_bad_plans_are_refused_before_anything_starts(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    plan = LoadPlan(**{"host": "http://127.0.0.1:1", **change})  # type: ignore[arg-type]
    with pytest.raises(LoadError, match=message) as info:
        LoadRun(plan, tmp_path / "run")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "run").exists()


def test_the_runner_does_not_import_locust() -> None:
    """Importing Locust gevent-patches the whole process: the runner must never do it."""
    code = "import sys, load.runner; print('locust' in sys.modules, 'gevent' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_failing_requests_exit_1_which_is_normal_and_stop_is_clean(tmp_path: Path) -> None:
    with LocalServer(mode="error") as server:
        run = LoadRun(LoadPlan(host=server.url, users=2, spawn_rate=2, run_time_s=120), tmp_path)
        with run:
            run.wait_for_first_requests(timeout=60)
            result = run.stop()
    assert result.exit_code == 1 and result.normal_exit
    logged = load_requests(result.request_log_dir)
    assert result.total_requests == len(logged) == result.total_failures > 0
    assert not logged["ok"].any() and set(logged["status"]) == {500}
    assert (tmp_path / "locust_stats_history.csv").is_file()


def test_each_request_is_one_flow_and_failed_flows_are_not_retried(tmp_path: Path) -> None:
    """A backend that drops connections: geventhttpclient would silently retry a GET up to
    pool size + 1 times; with load/retries.py every dropped flow is one failed request."""
    with LocalServer(mode="drop") as server:
        run = LoadRun(LoadPlan(host=server.url, users=2, spawn_rate=2, run_time_s=120), tmp_path)
        with run:
            run.wait_for_first_requests(timeout=60)
            result = run.stop()
        logged = load_requests(result.request_log_dir)
        assert len(logged) == result.total_requests == server.connections == server.requests
    assert not logged["ok"].any()


def test_keepalive_knob_reuses_connections(tmp_path: Path) -> None:
    with LocalServer("web-3") as server:
        plan = LoadPlan(
            host=server.url,
            users=2,
            spawn_rate=2,
            run_time_s=120,
            env={"FLEXCHAOS_KEEPALIVE": "1", "FLEXCHAOS_PATHS": "/=1,/other=1"},
        )
        with LoadRun(plan, tmp_path) as run:
            run.wait_for_first_requests(timeout=60)
            wait_for(lambda: server.requests >= 10, timeout=30, what="ten requests")
            result = run.stop()
        logged = load_requests(result.request_log_dir)
        assert result.exit_code == 0 and len(logged) == result.total_requests
        assert logged["ok"].all() and set(logged["served_by"]) == {"web-3"}
        assert server.connections <= 2 < server.requests


def test_a_broken_locustfile_is_reported_in_one_line(tmp_path: Path) -> None:
    locustfile = tmp_path / "broken_locustfile.py"
    locustfile.write_text("this is not python\n")
    run = LoadRun(LoadPlan(host="http://127.0.0.1:1", locustfile=locustfile), tmp_path / "run")
    with run, pytest.raises(LoadError, match="exited with code") as info:
        run.wait_for_first_requests(timeout=60)
    assert "\n" not in str(info.value)
