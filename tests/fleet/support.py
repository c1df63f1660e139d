"""Helpers shared by the fleet's end-to-end tests: settle, count mutating calls, run the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from emulator.launcher import EmulatorClient, RunningEmulator
from fleet.inventory import Inventory
from fleet.target import FleetTarget
from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


def target_of(emulator: RunningEmulator, **overrides: Any) -> FleetTarget:
    return FleetTarget.from_emulator(emulator.info, **overrides)


def all_healthy(target: FleetTarget, size: int | None = None) -> bool:
    """Every VM running and healthy (and, if given, exactly `size` of them)."""
    instances = Inventory(target).instances()
    return (size is None or len(instances) == size) and all(i.healthy for i in instances)


def wait_settled(target: FleetTarget, size: int | None = None, timeout: float = 30.0) -> None:
    wait_for(lambda: all_healthy(target, size), timeout=timeout, what="every VM running+healthy")


def mutating_calls_since(client: EmulatorClient, since: float) -> list[dict[str, Any]]:
    """ARM calls that could change something (POST/PUT/PATCH/DELETE under /subscriptions)."""
    return [
        e
        for e in client.requests()["log"]
        if e["time"] >= since
        and e["method"] in MUTATING
        and str(e["path"]).startswith("/subscriptions")
    ]


def now() -> float:
    return time.time()


def flexchaos(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run the `flexchaos` command as a user would (a subprocess)."""
    return subprocess.run(
        [sys.executable, "-m", "flexchaos", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
