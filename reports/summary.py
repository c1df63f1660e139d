"""The game day's summary: the headline with its exit code, the run's identity and one table
for the whole run (reports/run_summary.py), then, in the job summary, each experiment's
hypothesis and verdict table folded away.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reports import exit_codes, run_summary
from reports.trend import TrendPoint
from reports.values import md_escape
from reports.verdict import Verdict

ICONS = {
    "passed": "✅ passed",
    "failed": "❌ failed",
    "inconclusive": "⚠️ inconclusive",
    "error": "💥 error",
}


@dataclass(frozen=True)
class RunContext:
    """What the summary shows besides the verdicts: identity, per-experiment details (fault,
    rerun command), the design review and the previous run's trend points."""

    identity: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    review: Sequence[Mapping[str, str]] | None = None
    previous: Mapping[str, TrendPoint] = field(default_factory=dict)

    @classmethod
    def from_run(cls, run: Mapping[str, Any], trend: Sequence[TrendPoint] = ()) -> RunContext:
        """From run.json (flexchaos/run_result.py) and the trend points recorded so far."""
        identity = run.get("identity") or {}
        return cls(
            identity=identity,
            details=run.get("experiment_details") or {},
            review=run.get("review"),
            previous=run_summary.previous_points(trend, str(identity.get("started", ""))),
        )

    def reruns(self) -> dict[str, str]:
        return {name: str(d["rerun"]) for name, d in self.details.items() if d.get("rerun")}


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


def markdown_summary(
    verdicts: Sequence[Verdict],
    *,
    title: str = "flexchaos game day",
    report: str | None = None,
    exit_code: int | None = None,
    problems: Sequence[str] = (),
    context: RunContext | None = None,
) -> str:
    """The job summary: headline, who to call, identity, the run's table, the design review,
    then each experiment's hypothesis and verdict table (folded)."""
    context = context or RunContext()
    code = _code(verdicts, exit_code)
    rows = run_summary.build_rows(verdicts, context.details, context.previous)
    text = run_summary.markdown_summary(
        rows, identity=context.identity, exit_code=code, problems=problems,
        review=context.review, title=title, report=report,
    )  # fmt: skip
    lines = []
    for v in verdicts:
        lines += ["", f"<details><summary><code>{v.experiment}</code> — {ICONS[v.state]}: "
                  "hypothesis and verdict table</summary>", ""]  # fmt: skip
        lines += [f"> {md_escape(v.hypothesis)}", ""] if v.hypothesis else []
        lines += [v.markdown_table(), "", "</details>"]
    return text + ("\n".join(lines) + "\n" if lines else "")


def text_summary(
    verdicts: Sequence[Verdict],
    *,
    exit_code: int | None = None,
    problems: Sequence[str] = (),
    context: RunContext | None = None,
) -> str:
    """The terminal's closing summary, printed once: identity, the run's table (one row per
    experiment, each figure against its limit, change from the previous run), why for any that
    did not pass with the command that reruns it, the design review, the headline."""
    context = context or RunContext()
    rows = run_summary.build_rows(verdicts, context.details, context.previous)
    return run_summary.text_summary(
        rows, identity=context.identity, exit_code=_code(verdicts, exit_code),
        problems=problems, review=context.review, reruns=context.reruns(),
    )  # fmt: skip


def append_job_summary(
    verdicts: Sequence[Verdict],
    *,
    path: str | Path | None = None,
    title: str = "flexchaos game day",
    report: str | None = None,
    exit_code: int | None = None,
    problems: Sequence[str] = (),
    context: RunContext | None = None,
) -> Path | None:
    """Append the Markdown summary to `path` or $GITHUB_STEP_SUMMARY; None when neither is set."""
    target = path or os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    target = Path(target)
    with target.open("a", encoding="utf-8") as handle:
        handle.write(
            markdown_summary(
                verdicts, title=title, report=report, exit_code=exit_code, problems=problems,
                context=context,
            )
        )
    return target
