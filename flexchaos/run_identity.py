"""Who ran what, where: the identity a run summary opens with.

A release manager must see at once which scale set was hit (subscription, resource group,
name; emulator or Azure), by which code (flexchaos version and git commit), reproducibly how
(seed, time scale), when, and which pipeline run started it (its URL and trigger, read from
the CI's own environment variables). The emulator's endpoint is not part of it: a loopback
port that died with the run identifies nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from flexchaos.fleet_spec import Fleet, FleetSpec

REPO_ROOT = Path(__file__).resolve().parents[1]


def ci_run(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The pipeline run's URL, trigger and provider from GitHub Actions or Azure Pipelines
    variables; empty when neither is set (a person at a terminal)."""
    env = os.environ if env is None else env
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        return {
            "ci": "GitHub Actions",
            "pipeline_url": f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/"
            f"{env['GITHUB_RUN_ID']}",
            "trigger": env.get("GITHUB_EVENT_NAME", ""),
        }
    if env.get("SYSTEM_COLLECTIONURI") and env.get("BUILD_BUILDID"):
        collection = env["SYSTEM_COLLECTIONURI"].rstrip("/")
        project = env.get("SYSTEM_TEAMPROJECT", "")
        where = f"{collection}/{project}" if project else collection
        return {
            "ci": "Azure Pipelines",
            "pipeline_url": f"{where}/_build/results?buildId={env['BUILD_BUILDID']}",
            "trigger": env.get("BUILD_REASON", ""),
        }
    return {}


def git_commit(root: Path = REPO_ROOT) -> str:
    """The checkout's commit (short), with `+changes` when the tree is dirty; "" outside git."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return ""
    return f"{commit}+changes" if dirty else commit


def flexchaos_version() -> str:
    try:
        return metadata.version("flexchaos")
    except metadata.PackageNotFoundError:
        return "unknown"


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def run_identity(
    spec: FleetSpec,
    fleet: Fleet | None,
    *,
    seed: int | None,
    started: str,
    ended: str,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The run's identity as run.json and the summaries record it (strings and numbers only)."""
    target = fleet.target if fleet is not None else None
    identity: dict[str, Any] = {
        "fleet": spec.kind,
        "subscription": target.subscription_id if target else spec.subscription or "",
        "resource_group": target.resource_group if target else spec.resource_group or "",
        "scale_set": target.scale_set if target else spec.scale_set or "",
        "flexchaos_version": flexchaos_version(),
        "git_commit": git_commit(),
        "seed": seed,
        "time_scale": fleet.time_scale if fleet is not None else spec.time_scale,
        "started": started,
        "ended": ended,
    }
    identity.update(ci_run(env))
    return identity
