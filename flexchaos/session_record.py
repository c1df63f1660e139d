"""What a game-day session leaves behind when it ends: run.json with the run's identity,
verdicts.json, Allure's environment and categories, and the CI job summary.

The identity (flexchaos/run_identity.py) replaces the emulator's endpoint in Allure's
environment: a loopback port that died with the run identifies nothing, the scale set, the
commit and the seed do.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

from flexchaos.fleet_spec import Fleet
from flexchaos.run_identity import run_identity
from flexchaos.run_result import RunResult
from flexchaos.settings import Settings
from reports.summary import RunContext, append_job_summary, text_summary
from reports.trend import load_trend


def finish(
    result: RunResult,
    settings: Settings,
    fleet: Fleet | None,
    *,
    seed: int | None,
    started: str,
    ended: str,
    results_dir: Path | None,
) -> None:
    """Record the identity, write run.json and verdicts.json, Allure's metadata and the job
    summary."""
    result.identity = run_identity(
        settings.fleet_spec, fleet, seed=seed, started=started, ended=ended
    )
    result.write(settings.work_dir)
    if results_dir is not None:
        from reports import allure_attachments as report

        report.write_results_metadata(results_dir, environment=environment(result, settings))
    append_job_summary(
        result.verdicts, exit_code=result.exit_code, problems=result.problems,
        context=context(result, settings),
    )  # fmt: skip


def context(result: RunResult, settings: Settings | None) -> RunContext:
    """The run summary's context: identity, details, review, the previous run's figures."""
    trend = load_trend(settings.work_dir.trend) if settings is not None else []
    return RunContext.from_run(result.to_json(), trend)


def closing_summary(result: RunResult, settings: Settings | None) -> str:
    return text_summary(
        result.verdicts, exit_code=result.exit_code, problems=result.problems,
        context=context(result, settings),
    )  # fmt: skip


def environment(result: RunResult, settings: Settings) -> dict[str, Any]:
    """Allure's environment (the report's Metadata): the run's identity, then the settings."""
    identity = result.identity
    shown = {
        "fleet": identity.get("fleet"),
        "subscription": identity.get("subscription"),
        "resource group": identity.get("resource_group"),
        "scale set": identity.get("scale_set"),
        "flexchaos": identity.get("flexchaos_version"),
        "git commit": identity.get("git_commit"),
        "seed": identity.get("seed"),
        "time scale": identity.get("time_scale"),
        "start": identity.get("started"),
        "end": identity.get("ended"),
        "pipeline run": identity.get("pipeline_url"),
        "trigger": identity.get("trigger"),
        "users": settings.users,
        "targets": settings.targets,
        "python": platform.python_version(),
    }
    return {key: value for key, value in shown.items() if value not in (None, "")}
