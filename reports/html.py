"""The HTML report: Allure 3 (npm `allure`, pinned in reports/package-lock.json) as single files.

The generator is installed on first use into a cache outside the source tree
(reports/allure_tool.py). Before generating, the results are copied to a staging folder where
each experiment gets a chart of its failover and recovery time across runs (from trend.jsonl),
so the metric trend shows next to Allure's own history of pass/fail (kept in history.jsonl).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexchaos.errors import FlexchaosError
from reports import allure_tool
from reports.allure_attachments import categories
from reports.fixture_steps import tidy_fixtures
from reports.run_summary import build_rows, html_summary, previous_points
from reports.trend import (
    append_trend,
    points_for_run,
    read_results_verdicts,
    render_trend,
)

GENERATE_TIMEOUT_S = 180
HIDDEN_LABELS = ("host", "thread", "framework", "language", "package", "parentSuite", "subSuite")
NO_NODE_HINT = (
    "Node.js 20+ with npm is needed for the HTML report (install it, e.g. `apt-get install "
    "nodejs npm`); meanwhile read the verdicts in the terminal or the job summary, or open the "
    "results with any Allure 3 installation: `npx allure generate {results}`"
)


@dataclass(frozen=True)
class ReportPaths:
    """What `flexchaos report` produced."""

    summary: Path  # the run summary, the page that opens first (index.html)
    awesome: Path
    dashboard: Path
    trend_chart: Path
    history: Path
    trend: Path
    experiments: int


def generate_report(
    results: Path,
    output: Path,
    history: Path,
    trend: Path,
    *,
    name: str = "flexchaos game day",
    run: Mapping[str, Any] | None = None,
) -> ReportPaths:
    """Turn an Allure results dir into single-file HTML reports with history and trends, and
    the run summary (`index.html`) in front of them; `run` is the session's run.json (its
    identity, details and review), when there is one."""
    results, output = results.resolve(), output.resolve()
    if not results.is_dir() or not any(results.glob("*-result.json")):
        raise FlexchaosError(
            f"no Allure results in {results}; run the game day with --alluredir {results} first"
        )
    _check_output(output, results)
    for kept, option in ((history, "--history"), (trend, "--trend")):
        if output in kept.resolve().parents:
            raise FlexchaosError(
                f"{option} {kept} is inside --output {output}, which is emptied on each report; "
                "keep it elsewhere"
            )
    node = _node(results)
    cli = allure_tool.ensure_installed()

    found = read_results_verdicts(results)
    this_run = points_for_run(found)
    points = append_trend(trend.resolve(), this_run)
    summary_html = _run_summary(found, points, this_run, run or {}, name)
    history = history.resolve()
    history.parent.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="flexchaos-report-") as staging_root:
        staging = Path(staging_root) / "allure-results"
        shutil.copytree(results, staging)
        tidy_fixtures(staging)
        _add_global_attachment(staging, summary_html, "run summary")
        for item in found:
            png = render_trend(points, experiment=item.verdict.experiment)
            _add_attachment(
                staging / item.result_file.name, png, "failover and recovery across runs"
            )
        config = Path(staging_root) / "allurerc.mjs"
        config.write_text(_config(name, output, history), encoding="utf-8")
        if output.exists():
            shutil.rmtree(output)  # Allure nests a second copy into a non-empty output
        run = subprocess.run(
            [node, str(cli), "generate", "--config", str(config), str(staging)],
            cwd=staging_root,
            capture_output=True,
            text=True,
            timeout=GENERATE_TIMEOUT_S,
            env=allure_tool.node_env(),
        )
    if run.returncode != 0:
        tail = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no output"]
        raise FlexchaosError(f"allure generate failed (exit {run.returncode}): {tail[0]}")
    trend_chart = output / "failover-trend.png"
    output.mkdir(parents=True, exist_ok=True)
    trend_chart.write_bytes(render_trend(points))
    summary = output / "index.html"  # in place of Allure's list of its two reports
    summary.write_text(summary_html, encoding="utf-8")
    paths = ReportPaths(
        summary=summary,
        awesome=output / "awesome" / "index.html",
        dashboard=output / "dashboard" / "index.html",
        trend_chart=trend_chart,
        history=history,
        trend=trend.resolve(),
        experiments=len(found),
    )
    if not paths.awesome.is_file():
        raise FlexchaosError(f"allure generate wrote no {paths.awesome}; see {output}")
    return paths


def _node(results: Path) -> str:
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        raise FlexchaosError(NO_NODE_HINT.format(results=results))
    return node


def _check_output(output: Path, results: Path) -> None:
    """Refuse to empty a folder that is not a report (or that holds the results)."""
    if output == results or output in results.parents or results in output.parents:
        raise FlexchaosError(f"--output {output} overlaps --results {results}; pick another folder")
    if output.is_file():
        raise FlexchaosError(f"--output {output} is a file; give a folder for the report")
    if output.is_dir() and any(output.iterdir()):
        known = {"awesome", "dashboard", "failover-trend.png", "index.html", "test-results.json"}
        known |= {"summary.json"}
        if not {child.name for child in output.iterdir()} <= known:
            raise FlexchaosError(
                f"--output {output} holds files that are not an Allure report; "
                "give an empty or report folder"
            )


def _run_summary(
    found: list[Any], points: list[Any], this_run: list[Any], run: Mapping[str, Any], name: str
) -> str:
    """The run summary page: links to the reports, identity, the one table, the review."""
    identity = run.get("identity") or {}
    before = str(identity.get("started") or (this_run[0].time if this_run else ""))
    rows = build_rows(
        [item.verdict for item in found], run.get("experiment_details") or {},
        previous_points([p for p in points if p not in this_run], before),
    )  # fmt: skip
    exit_code = run.get("exit_code")
    if not isinstance(exit_code, int):
        from reports.exit_codes import overall_exit_code

        exit_code = overall_exit_code(item.verdict.state for item in found)
    return html_summary(
        rows, identity=identity, exit_code=exit_code, problems=run.get("problems") or [],
        review=run.get("review"), title=name,
        links={"the report (every experiment)": "awesome/index.html",
               "dashboard (history and trends)": "dashboard/index.html",
               "failover trend across runs": "failover-trend.png"},
    )  # fmt: skip


def _add_global_attachment(staging: Path, body: str, name: str) -> None:
    """An attachment of the whole run (Allure 3's Global Attachments), not of one test."""
    source = f"{uuid.uuid4()}-attachment.html"
    (staging / source).write_text(body, encoding="utf-8")
    globals_file = staging / f"{uuid.uuid4()}-globals.json"
    globals_file.write_text(
        json.dumps({"attachments": [{"name": name, "source": source, "type": "text/html"}]}),
        encoding="utf-8",
    )


def _add_attachment(result_file: Path, png: bytes, name: str) -> None:
    data = json.loads(result_file.read_text(encoding="utf-8"))
    source = f"{uuid.uuid4()}-attachment.png"
    (result_file.parent / source).write_bytes(png)
    data.setdefault("attachments", []).append({"name": name, "source": source, "type": "image/png"})
    result_file.write_text(json.dumps(data), encoding="utf-8")


def _config(name: str, output: Path, history: Path) -> str:
    options = {"singleFile": True, "reportName": name, "reportLanguage": "en"}
    config = {
        "name": name,
        "categories": categories("js"),
        "hideLabels": list(HIDDEN_LABELS),
        "output": str(output),
        "historyPath": str(history),
        "plugins": {
            "awesome": {"options": {**options, "groupBy": ["epic", "feature", "story"]}},
            "dashboard": {"options": options},
        },
    }
    return f"export default {json.dumps(config, indent=2)};\n"
