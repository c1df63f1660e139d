"""The game day's summary: one row per experiment, then each experiment's verdict table.

As Markdown it is appended to `$GITHUB_STEP_SUMMARY` (a CI job's summary page) when that
variable is set; as text it is what the terminal shows at the end of a run.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from reports.verdict import Verdict, overall_exit_code
from reports.verdict_tables import markdown_table, text_table

ICONS = {
    "passed": "✅ passed",
    "failed": "❌ failed",
    "inconclusive": "⚠️ inconclusive",
    "error": "💥 error",
}
HEADLINES = {
    0: "PASSED",
    1: "FAILED (a target was missed)",
    3: "INCONCLUSIVE (nothing may pass on it)",
    4: "ERROR (the harness failed)",
}


def overall_passed(verdicts: Sequence[Verdict]) -> bool:
    """The release-gate answer: every experiment met every target it set."""
    return overall_exit_code(verdicts) == 0


def headline(verdicts: Sequence[Verdict]) -> str:
    code = overall_exit_code(verdicts)
    return f"{HEADLINES[code]}, exit {code}"


def _why(v: Verdict) -> str:
    if v.state in ("inconclusive", "error"):
        return v.reason
    return ", ".join(row.target for row in v.missed())


def markdown_summary(
    verdicts: Sequence[Verdict], *, title: str = "flexchaos game day", report: str | None = None
) -> str:
    counts = {state: sum(v.state == state for v in verdicts) for state in ICONS}
    lines = [
        f"## {title}: {headline(verdicts)}",
        "",
        f"{len(verdicts)} experiments: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['inconclusive']} inconclusive, {counts['error']} error.",
        "",
        "| experiment | result | missed targets or why |",
        "|---|---|---|",
    ]
    for v in verdicts:
        why = _why(v).replace("|", "\\|")
        lines.append(f"| `{v.experiment}` | {ICONS[v.state]} | {why or '—'} |")
    if report:
        lines += ["", f"Report: `{report}`"]
    for v in verdicts:
        lines += ["", f"### `{v.experiment}` — {ICONS[v.state]}", "", markdown_table(v)]
    return "\n".join(lines) + "\n"


def text_summary(verdicts: Sequence[Verdict]) -> str:
    """The terminal's closing table: one line per experiment, then the verdict tables."""
    width = max([len(v.experiment) for v in verdicts] + [10])
    lines = [
        f"{'experiment'.ljust(width)}  {'result':12}  missed targets or why",
        "-" * (width + 40),
    ]
    for v in verdicts:
        lines.append(f"{v.experiment.ljust(width)}  {v.state.upper():12}  {_why(v) or '-'}")
    body = "\n\n".join(text_table(v) for v in verdicts)
    return "\n".join(lines) + "\n\n" + body + f"\n\ngame day {headline(verdicts)}\n"


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
