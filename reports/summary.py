"""The game day's summary: the headline with its exit code, one row per experiment (with why
when it did not pass), then each experiment's hypothesis and verdict table.

As Markdown it is appended to `$GITHUB_STEP_SUMMARY` (a CI job's summary page) when that
variable is set; as text it is what the terminal shows once, at the end of a run. The headline
is the run's exit code, not a guess from the verdicts: bad input, an interrupt or a test that
is not an experiment change the code without a verdict of their own, and a summary that said
"PASSED" beside exit 2 would be read by a person while the pipeline acts on the code. So both
renderings take the code the run exits with, say what it means and whom to call
(reports.exit_codes), and list those problems too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from reports import exit_codes
from reports.values import md_escape
from reports.verdict import Verdict

ICONS = {
    "passed": "✅ passed",
    "failed": "❌ failed",
    "inconclusive": "⚠️ inconclusive",
    "error": "💥 error",
}


def overall_passed(verdicts: Sequence[Verdict]) -> bool:
    """The release-gate answer: every experiment met every target it set."""
    return exit_codes.overall_exit_code(v.state for v in verdicts) == 0


def headline(verdicts: Sequence[Verdict], exit_code: int | None = None) -> str:
    """`PASSED, exit 0` — from the run's exit code, or the verdicts' when none is given."""
    return exit_codes.headline(_code(verdicts, exit_code))


def _code(verdicts: Sequence[Verdict], exit_code: int | None) -> int:
    if exit_code is not None:
        return exit_code
    return exit_codes.overall_exit_code(v.state for v in verdicts)


def _why(v: Verdict) -> str:
    if v.state in ("inconclusive", "error"):
        return v.reason
    return ", ".join(row.target for row in v.missed())


def markdown_summary(
    verdicts: Sequence[Verdict],
    *,
    title: str = "flexchaos game day",
    report: str | None = None,
    exit_code: int | None = None,
    problems: Sequence[str] = (),
) -> str:
    """The job summary: headline, who to call, one row per experiment, then each table."""
    code = _code(verdicts, exit_code)
    counts = {state: sum(v.state == state for v in verdicts) for state in ICONS}
    lines = [
        f"## {title}: {headline(verdicts, code)}",
        "",
        f"**{exit_codes.meaning(code).sentence()}**",
        "",
        f"{len(verdicts)} experiments: {counts['passed']} passed, {counts['failed']} failed, "
        f"{counts['inconclusive']} inconclusive, {counts['error']} error.",
    ]
    lines += [""] + [f"- {md_escape(problem)}" for problem in problems] if problems else []
    if verdicts:
        lines += ["", "| experiment | result | missed targets or why |", "|---|---|---|"]
    for v in verdicts:
        lines.append(f"| `{v.experiment}` | {ICONS[v.state]} | {md_escape(_why(v)) or '—'} |")
    if report:
        lines += ["", f"Report: `{report}`"]
    for v in verdicts:
        lines += ["", f"### `{v.experiment}` — {ICONS[v.state]}", ""]
        lines += [f"> {md_escape(v.hypothesis)}", ""] if v.hypothesis else []
        lines.append(v.markdown_table())
    return "\n".join(lines) + "\n"


def text_summary(
    verdicts: Sequence[Verdict], *, exit_code: int | None = None, problems: Sequence[str] = ()
) -> str:
    """The terminal's closing summary: one line per experiment (why, when it did not pass),
    the problems without a verdict, the verdict tables, the headline and whom to call."""
    code = _code(verdicts, exit_code)
    width = max([len(v.experiment) for v in verdicts] + [10])
    lines = []
    if verdicts:
        lines += [
            f"{'experiment'.ljust(width)}  {'result':12}  missed targets or why",
            "-" * (width + 40),
        ]
    for v in verdicts:
        lines.append(f"{v.experiment.ljust(width)}  {v.state.upper():12}  {_why(v) or '-'}")
    lines += [f"problem: {problem}" for problem in problems]
    body = "".join("\n\n" + v.text_table() for v in verdicts)
    return (
        "\n".join(lines)
        + body
        + f"\n\n{exit_codes.meaning(code).sentence()}\ngame day {headline(verdicts, code)}\n"
    )


def append_job_summary(
    verdicts: Sequence[Verdict],
    *,
    path: str | Path | None = None,
    title: str = "flexchaos game day",
    report: str | None = None,
    exit_code: int | None = None,
    problems: Sequence[str] = (),
) -> Path | None:
    """Append the Markdown summary to `path` or $GITHUB_STEP_SUMMARY; None when neither is set."""
    target = path or os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    target = Path(target)
    with target.open("a", encoding="utf-8") as handle:
        handle.write(
            markdown_summary(
                verdicts, title=title, report=report, exit_code=exit_code, problems=problems
            )
        )
    return target
