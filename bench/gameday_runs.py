"""Shared by the throttling and ARM-fault benches: one game day (`flexchaos gameday`) against
its own emulator, with the emulator's account of every request budget and the verdicts.

The emulator is started here (not by the game day) so that its control-plane faults and its
throttling account (GET /_emulator/throttling) can be read around the run.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.launcher import RunningEmulator  # noqa: E402

GAMEDAY_TIMEOUT_S = 3600
LOG_DIR: Path | None = None  # set: each game day's output is kept there


@dataclass
class GameDayRun:
    """What one game day gave: exit code, verdicts per experiment, the budget account."""

    label: str
    exit_code: int
    wall_s: float
    verdicts: list[dict[str, Any]]
    throttling: dict[str, Any]
    max_rss_mib: float
    output_tail: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def targets(self) -> dict[str, dict[str, str]]:
        """experiment → target → "pass" | "fail" | "not judged: why" | state of a verdict
        that judged nothing (e.g. "inconclusive: steady state broken")."""
        out: dict[str, dict[str, str]] = {}
        for v in self.verdicts:
            rows: dict[str, str] = {}
            for row in v.get("rows") or []:
                reason = str(row.get("reason") or "")
                if reason.startswith("not judged"):
                    rows[row["target"]] = reason[:200]
                else:
                    rows[row["target"]] = "pass" if row.get("passed") else "fail"
            if not rows:
                rows["(verdict)"] = f"{v.get('state')}: {v.get('reason', '')}"[:200]
            out[v["experiment"]] = rows
        return out


def run_gameday(
    label: str,
    *,
    topology_toml: str | None = None,
    time_scale: float | None = None,
    emulator_args: list[str] | None = None,
    pytest_args: list[str] | None = None,
) -> GameDayRun:
    with tempfile.TemporaryDirectory(prefix="flexchaos-bench-") as tmp:
        work = Path(tmp)
        topology = None
        if topology_toml is not None:
            topology = work / "topology.toml"
            topology.write_text(topology_toml)
        with RunningEmulator(
            topology=topology,
            time_scale=time_scale,
            extra_args=emulator_args or [],
            log_path=work / "emulator.log",
        ) as emu:
            info = emu.info
            cmd = [
                sys.executable, "-m", "flexchaos", "gameday", "--work-dir", str(work / "wd"),
                "--no-report", "--", "--arm-url", info.arm_url, "--lb-url", str(info.lb_url),
                *(pytest_args or []),
            ]  # fmt: skip
            started = time.monotonic()
            proc = subprocess.run(
                cmd, cwd=ROOT, capture_output=True, text=True, timeout=GAMEDAY_TIMEOUT_S,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
            wall = time.monotonic() - started
            if LOG_DIR is not None:
                (LOG_DIR / f"{label.replace(' ', '_').replace('#', '-')}.log").write_text(
                    proc.stdout + "\n--- stderr ---\n" + proc.stderr
                )
            # the largest process of the harness's tree (gameday → pytest → Locust), taken
            # before the emulator is waited for
            rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            throttling = httpx.get(info.arm_url + "/_emulator/throttling", timeout=30).json()
        verdicts_path = work / "wd" / "verdicts.json"
        verdicts = json.loads(verdicts_path.read_text()) if verdicts_path.exists() else []
        tail = "\n".join(proc.stdout.splitlines()[-15:] + proc.stderr.splitlines()[-15:])
        return GameDayRun(label, proc.returncode, wall, verdicts, throttling, rss, tail)


def per_minute_vs_buckets(throttling: dict[str, Any]) -> dict[str, Any]:
    """Per operation class: calls in its busiest platform minute against the bucket's refill
    and capacity (subscription; per VM where there is one), throttled answers, fewest left."""
    out: dict[str, Any] = {}
    limits = throttling.get("limits", {})
    lowest = throttling.get("lowest_remaining", {})
    for name, minutes in sorted(throttling.get("per_platform_minute", {}).items()):
        limit = limits.get(name, {})
        policy = name.removeprefix("arm-")
        out[name] = {
            "calls": throttling.get("calls", {}).get(name, 0),
            "busiest_platform_minute": max(minutes) if minutes else 0,
            "platform_minutes": len(minutes),
            "subscription_bucket": limit.get("subscription"),
            "per_vm_bucket": limit.get("resource"),
            "throttled_429": throttling.get("throttled", {}).get(name, 0),
            "fewest_left_subscription": lowest.get(f"{name}Subscription", lowest.get(name)),
            "fewest_left_per_vm": lowest.get(f"{policy}Resource"),
        }
    return out


def update_json(path: Path, key: str, value: Any) -> None:
    """Read-modify-write one key of a JSON object shared with other benches."""
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError:
            data = {}
    data[key] = value
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
