"""The game day's summary: one row per experiment, then each experiment's verdict table.

As Markdown it is appended to `$GITHUB_STEP_SUMMARY` (a CI job's summary page) when that
variable is set; as text it is what the terminal shows at the end of a run.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from reports.verdict import Verdict

ICONS = {"passed": "✅ passed", "failed": "❌ failed", "broken": "⚠️ broken"}


def overall_passed(verdicts: Sequence[Verdict]) -> bool:
    """The release-gate answer: every experiment met every target (none broken)."""
    return bool(verdicts) and all(v.passed for v in verdicts)


def markdown_summary(
    verdicts: Sequence[Verdict], *, title: str = "flexchaos game day", report: str | None = None
) -> str:
    counts = {state: sum(v.state == state for v in verdicts) for state in ICONS}
    head = "PASSED" if overall_passed(verdicts) else "FAILED"
    lines = [
        f"## {title}: {head}",
        "",
        f"{len(verdicts)} experiments: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['broken']} broken.",
        "",
        "| experiment | result | missed targets |",
        "|---|---|---|",
    ]
    for v in verdicts:
        missed = ", ".join(f"`{row.target}`" for row in v.missed() if row.judged)
        if v.state == "broken":
            missed = f"not judged: {v.reason}".replace("|", "\\|")
        lines.append(f"| `{v.experiment}` | {ICONS[v.state]} | {missed or '—'} |")
    if report:
        lines += ["", f"Report: `{report}`"]
    for v in verdicts:
        lines += ["", f"### `{v.experiment}` — {ICONS[v.state]}", "", v.markdown_table()]
    return "\n".join(lines) + "\n"


def text_summary(verdicts: Sequence[Verdict]) -> str:
    """The terminal's closing table: one line per experiment, then the verdict tables."""
    width = max([len(v.experiment) for v in verdicts] + [10])
    lines = [f"{'experiment'.ljust(width)}  result  missed targets", "-" * (width + 32)]
    for v in verdicts:
        missed = ", ".join(row.target for row in v.missed() if row.judged)
        if v.state == "broken":
            missed = f"steady state did not hold: {v.reason}"
        lines.append(f"{v.experiment.ljust(width)}  {v.state.upper():6}  {missed or '-'}")
    body = "\n\n".join(v.text_table() for v in verdicts)
    verdict = "PASSED" if overall_passed(verdicts) else "FAILED"
    return "\n".join(lines) + "\n\n" + body + f"\n\ngame day {verdict}\n"


def append_job_summary(
    verdicts: Sequence[Verdict],
    *,
    path: str | Path | None = None,
    title: str = "flexchaos game day",
    report: str | None = None,
) -> Path | None:
    """Append the Markdown summary to `path` or $GITHUB_STEP_SUMMARY; None when neither is set."""
    target = path or os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    target = Path(target)
    with target.open("a", encoding="utf-8") as handle:
        handle.write(markdown_summary(verdicts, title=title, report=report))
    return target
