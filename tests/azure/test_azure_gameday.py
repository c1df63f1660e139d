"""The Azure path, rehearsed whole: the default game day with `--fleet azure` against the
emulator in Azure mode — HTTPS with its own CA, DefaultAzureCredential signing in with a
federated token file (workload identity, as a pipeline does), tokens that expire every minute
during the run, and only the shipped least-privilege role assigned on the resource group.

Heavy (a whole game day, ~3 min): marked `heavy`, run once in the suite; everything cheaper
about Azure mode is in test_azure_mode.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import pytest

from emulator.launcher import RunningEmulator

REPO = Path(__file__).resolve().parents[2]
ROLE_FILE = REPO / "azure" / "flexchaos-role.json"
TOKEN_LIFETIME_S = 60  # a run of ~4 min signs in several times (2-s tokens: test_azure_mode)
# Twice the default scale: a probe interval is 0.5 s wall, so capacity listings over HTTPS
# and the default load resolve it on a 2-core machine. Measured: 188 s with one core kept busy
# by another process, 199 s with both (fully judged, exit 0 each time); at 0.2 it took 342 s of
# CI's 20-minute budget. (Session 3 saw figures go not judged at 0.05 and 0.1 with a load
# average of 20-35 from several concurrent game days; CI runs one suite.)
TIME_SCALE = 0.1
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


@pytest.mark.heavy
@pytest.mark.timeout(1000)
def test_default_game_day_on_the_azure_path_with_only_the_shipped_role(
    start_emulator: Callable[..., RunningEmulator], tmp_path: Path
) -> None:
    emulator = start_emulator(
        time_scale=TIME_SCALE,
        args=["--azure-mode", "--role", str(ROLE_FILE), "--token-lifetime", str(TOKEN_LIFETIME_S)],
    )
    info = emulator.info
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZURE_")}
    env.update(info.azure_environment())  # what the pipeline's sign-in step leaves behind
    work = tmp_path / "work"
    cmd = [
        sys.executable, "-m", "flexchaos", "gameday", "--no-report", "--work-dir", str(work),
        "--", "--fleet", "azure", "--arm-url", info.arm_url,
        "--arm-audience", "https://management.azure.com",
        "--subscription", info.subscription_id, "--resource-group", info.resource_group,
        "--scale-set", info.scale_set, "--load-balancer", str(info.load_balancer),
        "--lb-url", str(info.lb_url), "--time-scale", str(info.time_scale),
    ]  # fmt: skip
    run = subprocess.run(
        cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    summary = run.stdout[run.stdout.rfind("experiment    ") :]  # the closing table onwards
    tail = summary[-6000:] + run.stderr[-2000:]
    assert run.returncode == 0, tail
    assert run.stdout.rstrip().splitlines()[-1] == "game day PASSED, exit 0", tail
    verdicts = json.loads((work / "verdicts.json").read_text())  # the six fault experiments
    assert len(verdicts) == 6 and {v["state"] for v in verdicts} == {"passed"}, tail
    junit = ElementTree.parse(work / "junit.xml").getroot().iter("testsuite")
    counts = [(int(t.get("tests", 0)), int(t.get("failures", 0)), int(t.get("errors", 0)))
              for t in junit]  # fmt: skip
    assert counts == [(7, 0, 0)], counts  # and the design review
    # the preflight ran first, against the real target, and passed
    actions = len(json.loads(ROLE_FILE.read_text())["Actions"])
    assert f"preflight OK       permissions: all {actions} actions the run needs are granted" in (
        run.stdout
    )
    # signed in over HTTPS with workload identity, refreshed, never refused
    log = emulator.client.requests()["log"]
    assert [r for r in log if r["status"] in (401, 403)] == []
    assert sum(1 for r in log if r["method"] in MUTATING) > 10  # the faults really ran
    assert emulator.client.identity()["tokens_issued"] >= 2  # refreshed during the run
