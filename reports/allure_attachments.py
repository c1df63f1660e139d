"""Allure glue the pytest plugin calls: labels, parameters, description and attachments.

Everything here goes through allure-pytest's public API (`allure.dynamic`, `allure.attach`), so
it is a no-op when pytest runs without `--alluredir`. The verdict table and the timeline chart
are put at the top of the test's description: they are what a reviewer sees first. The
results-directory files (environment.properties, categories.json, executor.json) are written by
write_results_metadata at the end of the session.
"""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import allure
import pandas as pd
import pytest

from reports.verdict import INCONCLUSIVE_PREFIX, MISSED_PREFIX, Verdict

EPIC = "Resilience game day"
VERDICT_JSON_NAME = "verdict.json"  # `flexchaos report` finds verdicts by this attachment name
BAD_INPUT_PREFIX = "Bad input"  # the message of an experiment refused before any fault
REVIEW_PREFIX = "Design review failed"  # flexchaos/design_review.py's failure message
STEADY_STATE_BROKEN = "steady state did not hold (no fault injected): "
INCONCLUSIVE_KINDS = ("fault not exercised", "not judged", "steady state did not hold")


def results_dir(config: pytest.Config) -> Path | None:
    """The `--alluredir` of this pytest run, or None when Allure is off."""
    value = getattr(config.option, "allure_report_dir", None)
    return Path(value) if value else None


def label_experiment(
    *,
    fault: str,
    story: str,
    severity: str = "critical",
    zones: Iterable[str] = (),
    epic: str = EPIC,
    tags: Iterable[str] = (),
) -> None:
    """Epic (the game day), feature (the fault), story (the scenario), severity and zone tags."""
    allure.dynamic.epic(epic)
    allure.dynamic.feature(fault)
    allure.dynamic.story(story)
    allure.dynamic.severity(_severity(severity))
    extra = [f"zone {zone}" for zone in zones] + list(tags)
    if extra:
        allure.dynamic.tag(*extra)


def set_parameters(
    *, vms: Sequence[str], seed: int | None, scale_set: str, **extra: object
) -> None:
    """The VMs chosen and the seed that chose them, so a run can be reproduced.

    Allure keys an experiment's history by its test and its non-excluded parameters: only the
    scale set (a stable identity: subscription, resource group, name) is part of it; the
    per-run values (VMs, seed, anything in `extra`) are shown but excluded, so the History tab,
    status transitions and the flaky/new markers follow one experiment across runs."""
    allure.dynamic.parameter("scale set", scale_set)
    allure.dynamic.parameter("VMs chosen", ", ".join(vms) if vms else "none", excluded=True)
    allure.dynamic.parameter("seed", seed, excluded=True)
    for name, value in extra.items():
        allure.dynamic.parameter(name, value, excluded=True)


def describe(*, title: str, scenario: str, hypothesis: str) -> None:
    """The test's title and a first description (scenario, hypothesis) before the verdict."""
    allure.dynamic.title(title)
    allure.dynamic.description_html(_description(scenario, hypothesis))


def present_verdict(
    verdict: Verdict,
    *,
    scenario: str,
    hypothesis: str,
    chart_png: bytes | None = None,
) -> None:
    """Put the verdict table and the chart at the top of the description, and attach both."""
    allure.dynamic.description_html(_description(scenario, hypothesis, verdict, chart_png))
    attach_verdict(verdict)
    if chart_png is not None:
        attach_chart(chart_png)


def attach_verdict(verdict: Verdict) -> None:
    """The verdict as HTML (table), text (as in the terminal) and JSON (read by reports)."""
    allure.attach(
        _html_page(verdict.html_table()), "verdict table", allure.attachment_type.HTML, "html"
    )
    allure.attach(verdict.text_table(), "verdict (text)", allure.attachment_type.TEXT, "txt")
    allure.attach(verdict.to_json(), VERDICT_JSON_NAME, allure.attachment_type.JSON, "json")


def attach_rerun(command: str) -> None:
    """The command line that reruns exactly this experiment (same test, seed and fleet)."""
    allure.attach(command + "\n", "rerun this experiment", allure.attachment_type.TEXT, "txt")


def attach_chart(png: bytes, name: str = "timeline chart") -> None:
    allure.attach(png, name, allure.attachment_type.PNG, "png")


def attach_requests_csv(requests: pd.DataFrame, name: str = "requests (per request)") -> None:
    """Every request of the timeline: the source of truth behind the error and latency figures."""
    allure.attach(requests.to_csv(index=False), name, allure.attachment_type.CSV, "csv")


def attach_timeline_csv(frame: pd.DataFrame, name: str) -> None:
    """Any other timeline table (capacity samples, fault events) as CSV."""
    allure.attach(frame.to_csv(index=False), name, allure.attachment_type.CSV, "csv")


def attach_locust_stats(paths: Iterable[str | Path]) -> list[Path]:
    """Locust's own files (`*_stats.csv`, `*_stats_history.csv`, `*_failures.csv`, JSON)."""
    attached = []
    for path in sorted(Path(p) for p in paths):
        if not path.is_file():
            continue
        kind = {".csv": allure.attachment_type.CSV, ".json": allure.attachment_type.JSON}.get(
            path.suffix, allure.attachment_type.TEXT
        )
        allure.attach.file(str(path), f"locust: {path.name}", kind, path.suffix.lstrip("."))
        attached.append(path)
    return attached


def attach_evidence(
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None = None,
    drift: Any = None,
) -> None:
    """Evidence snapshots (preflight, postflight) and the drift between them, as JSON."""
    if before is not None:
        _attach_json(before, "evidence before")
    if after is not None:
        _attach_json(after, "evidence after")
    if drift is not None:
        _attach_json(drift, "drift (before → after)")


def attach_journal(journal: str | Path | Sequence[Mapping[str, Any]]) -> None:
    """The fault journal: a JSONL file, or its entries."""
    if isinstance(journal, str | Path):
        path = Path(journal)
        if path.is_file():
            allure.attach.file(str(path), "journal", allure.attachment_type.JSON, "jsonl")
        return
    body = "\n".join(json.dumps(entry, default=str) for entry in journal)
    allure.attach(body, "journal", allure.attachment_type.JSON, "jsonl")


def categories(dialect: str = "java") -> list[dict[str, Any]]:
    """How Allure sorts failures: a missed target (call the design's owners), a failed design
    review check (the design's owners too, but a checklist, not an experiment), an inconclusive
    run (nothing proved), bad input (fix the game day) and a harness error (everything else).

    `java` patterns must match the whole message (Allure 2 reads categories.json);
    `js` patterns are searched in it (Allure 3 takes them from its config).
    """
    missed, review = MISSED_PREFIX, REVIEW_PREFIX
    unproved, bad = INCONCLUSIVE_PREFIX, BAD_INPUT_PREFIX
    known = f"({missed}|{review}|{unproved}|{bad})"
    if dialect == "java":
        patterns = (
            f"(?s).*{missed}.*", f"(?s).*{review}.*", f"(?s).*{unproved}.*", f"(?s).*{bad}.*",
            f"(?s)^(?!.*{known}).*",
        )  # fmt: skip
    elif dialect == "js":
        patterns = (missed, review, unproved, bad, f"^(?![\\s\\S]*{known})")
    else:
        raise ValueError(f"unknown regex dialect {dialect!r}; use 'java' or 'js'")
    return [
        {
            "name": "Missed resilience target",
            "description": "The fault ran and a target's limit was not met: a design finding.",
            "matchedStatuses": ["failed"],
            "messageRegex": patterns[0],
        },
        {
            "name": "Design review: a check failed",
            "description": "The read-only design review (a checklist, not an experiment) found "
            "a design problem; its page says what to change.",
            "matchedStatuses": ["failed"],
            "messageRegex": patterns[1],
        },
        {
            "name": "Inconclusive (nothing may pass on it)",
            "description": "The steady state did not hold, the fault was not shown to land, or "
            "a figure's evidence had a gap: the run proves nothing either way.",
            "matchedStatuses": ["broken"],
            "messageRegex": patterns[2],
        },
        {
            "name": "Bad input (nothing touched)",
            "description": "The experiment, its targets or the fleet were refused before any "
            "fault: fix the game day.",
            "matchedStatuses": ["failed", "broken"],
            "messageRegex": patterns[3],
        },
        {
            "name": "Harness error",
            "description": "The harness or its environment failed: a bug to fix, not a verdict.",
            "matchedStatuses": ["broken", "failed"],
            "messageRegex": patterns[4],
        },
    ]


def write_results_metadata(
    directory: str | Path,
    *,
    environment: Mapping[str, object],
    executor: Mapping[str, object] | None = None,
) -> list[Path]:
    """Write environment.properties, categories.json and executor.json into a results dir."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    env_path = directory / "environment.properties"
    env_path.write_text(
        "".join(f"{_prop(k, key=True)}={_prop(str(v))}\n" for k, v in environment.items()),
        encoding="utf-8",
    )
    cat_path = directory / "categories.json"
    cat_path.write_text(json.dumps(categories(), indent=2), encoding="utf-8")
    exe_path = directory / "executor.json"
    exe_path.write_text(json.dumps(executor or executor_info(), indent=2), encoding="utf-8")
    return [env_path, cat_path, exe_path]


def executor_info() -> dict[str, object]:
    """Where the run happened: a GitHub Actions job when its variables are set, else local."""
    if os.environ.get("GITHUB_ACTIONS") == "true":
        server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
        repo = os.environ.get("GITHUB_REPOSITORY", "")
        run_id = os.environ.get("GITHUB_RUN_ID", "")
        url = f"{server}/{repo}/actions/runs/{run_id}"
        return {
            "name": "GitHub Actions",
            "type": "github",
            "buildName": f"{os.environ.get('GITHUB_WORKFLOW', 'workflow')} #{run_id}",
            "buildUrl": url,
            "reportName": "flexchaos game day",
        }
    return {"name": "flexchaos (local)", "type": "local", "reportName": "flexchaos game day"}


def _description(
    scenario: str,
    hypothesis: str,
    verdict: Verdict | None = None,
    chart_png: bytes | None = None,
) -> str:
    parts = []
    if verdict is not None:
        parts.append(
            f'<p class="flexchaos-lead" style="font-size:15px;margin:4px 0 8px">'
            f"<b>{html.escape(verdict_sentence(verdict))}</b></p>"
        )
        parts.append(verdict.html_table())
    if chart_png is not None:
        encoded = base64.b64encode(chart_png).decode("ascii")
        parts.append(
            f'<p><img alt="timeline chart" style="max-width:100%" '
            f'src="data:image/png;base64,{encoded}"></p>'
        )
    parts.append(f"<p><b>Scenario.</b> {html.escape(scenario)}</p>")
    parts.append(f"<p><b>Hypothesis.</b> {html.escape(hypothesis)}</p>")
    return "\n".join(parts)


def verdict_sentence(verdict: Verdict) -> str:
    """The one sentence an experiment's page opens with: what happened, plainly.

    An inconclusive one names its kind first — "Inconclusive — fault not exercised: …",
    "… — not judged: …", "… — steady state did not hold: …" — so a reader knows at once that
    nothing was proved, and why."""
    reason = verdict.reason.strip()
    if verdict.state == "passed":
        sentence = "Passed — every target was judged and met"
    elif verdict.state == "failed":
        sentence = f"Failed — a target was missed: {reason}"
    elif verdict.state == "error":
        sentence = f"Harness error — no figure can be trusted: {reason}"
    else:
        if reason.startswith(STEADY_STATE_BROKEN):
            reason = (
                f"steady state did not hold: {reason.removeprefix(STEADY_STATE_BROKEN)}; "
                "no fault was injected"
            )
        elif not reason.startswith(INCONCLUSIVE_KINDS):
            reason = f"not judged: {reason}"
        sentence = f"Inconclusive — {reason}"
    return sentence if sentence.endswith((".", "!", "?")) else sentence + "."


def _html_page(body: str) -> str:
    return f'<!doctype html><html><head><meta charset="utf-8"></head><body>{body}</body></html>'


def _attach_json(data: Any, name: str) -> None:
    allure.attach(
        json.dumps(data, indent=2, default=str, sort_keys=True),
        name,
        allure.attachment_type.JSON,
        "json",
    )


def _severity(name: str) -> allure.severity_level:
    try:
        return allure.severity_level(name.lower())
    except ValueError:
        options = ", ".join(level.value for level in allure.severity_level)
        raise ValueError(f"unknown Allure severity {name!r}; use one of {options}") from None


def _prop(text: str, key: bool = False) -> str:
    """Java .properties escaping (Allure parses the file as such); a space ends a key."""
    out = text.replace("\\", "\\\\").replace("\n", "\\n").replace("=", "\\=")
    out = out.replace(":", "\\:")
    return out.replace(" ", "\\ ") if key else out
