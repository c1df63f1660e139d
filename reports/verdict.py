"""Verdicts: each target compared with its measured value, and the experiment's outcome.

A verdict is a table (target, limit, measured, unit, pass/fail) plus a state: `passed` when
every target passed, `failed` when one missed (or has no measurement), `broken` when the steady
state did not hold and no fault was injected. Durations are judged in platform seconds, converted
by `probes.measures.Clock` (wall = platform × time_scale; 1.0 on Azure); the wall seconds measured
on the harness's clock are shown alongside.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from flexchaos.errors import FlexchaosError, Inconclusive, MissedTargets
from probes.measures import Clock
from reports.targets import SPECS, Targets, TargetSpec
from reports.values import format_number, from_json_safe_map, json_safe, md_escape, number_or_inf

State = Literal["passed", "failed", "inconclusive", "error"]
# What each state tells a pipeline (README, "Exit codes"): who to call.
EXIT_CODES: dict[str, int] = {"passed": 0, "failed": 1, "inconclusive": 3, "error": 4}

MISSED_PREFIX = "Missed resilience targets"
INCONCLUSIVE_PREFIX = "Inconclusive"
NOT_JUDGED = "not judged"
NEVER_ENDED = "never ended"


@dataclass(frozen=True)
class VerdictRow:
    """One target judged. `measured` is in the target's unit (platform seconds for durations)."""

    target: str
    metric: str
    comparison: str
    limit: float
    measured: float | None
    unit: str
    passed: bool
    clock: Literal["platform", ""] = ""
    measured_wall: float | None = None  # durations only: the harness's wall-clock seconds
    reason: str = ""
    # The measurement in words (`Metrics.details()`): a ratio's counts replace its number, which
    # could round 4 failures of 9,812 to 0; for other units it follows the number.
    detail: str = ""

    @property
    def judged(self) -> bool:
        return not self.reason.startswith(NOT_JUDGED)

    def measured_text(self) -> str:
        if self.measured is None:
            return NOT_JUDGED
        if math.isinf(self.measured):
            return NEVER_ENDED
        if self.detail and not self.unit:
            return self.detail
        text = format_number(self.measured, self.unit)
        wall = self.measured_wall
        if self.clock == "platform" and wall is not None and wall != self.measured:
            text += (
                f" platform ({wall:.2f} s wall)" if wall < 10 else f" platform ({wall:.1f} s wall)"
            )
        return f"{text}, {self.detail}" if self.detail else text

    def limit_text(self) -> str:
        return f"{self.comparison} {format_number(self.limit, self.unit)}"

    def result_text(self) -> str:
        if not self.judged:
            return "NOT JUDGED"
        return "PASS" if self.passed else "FAIL"

    def describe_miss(self) -> str:
        if self.measured is None or not self.judged:
            return f"{self.target}: {self.reason}"
        miss = f"{self.target}: measured {self.measured_text()}, limit {self.limit_text()}"
        return f"{miss} ({self.reason})" if self.reason else miss


@dataclass(frozen=True)
class Verdict:
    """The judged targets of one experiment and its overall state."""

    experiment: str
    rows: tuple[VerdictRow, ...]
    state: State
    time_scale: float = 1.0
    reason: str = ""  # why broken, or a summary of what missed
    # measure name → wall value as measured; math.inf = never ended, None = no measurement
    measured: Mapping[str, float | None] = field(default_factory=dict)
    hypothesis: str = ""  # as shown: the claim, then what judged it (reports.hypothesis)

    @property
    def passed(self) -> bool:
        return self.state == "passed"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.state]

    def not_judged(self) -> list[VerdictRow]:
        return [row for row in self.rows if not row.judged]

    @property
    def clock(self) -> Clock:
        return Clock(self.time_scale)

    def missed(self) -> list[VerdictRow]:
        """Targets judged and missed (a target not judged is not a miss: it is no proof)."""
        return [row for row in self.rows if row.judged and not row.passed]

    def failure_message(self) -> str:
        """The one message a failing or inconclusive test carries (matched by categories)."""
        if self.state == "inconclusive":
            return f"{INCONCLUSIVE_PREFIX}: {self.reason}"
        if self.state == "failed":
            return f"{MISSED_PREFIX}: " + "; ".join(row.describe_miss() for row in self.missed())
        if self.state == "error":
            return f"Harness error: {self.reason}"
        return ""

    def with_failed_row(self, row: VerdictRow) -> Verdict:
        """This verdict with one more (failed) row, e.g. an abort condition that was hit."""
        failed = replace(self, rows=(*self.rows, row), state="failed")
        return _with_reason(failed, "; ".join(r.describe_miss() for r in failed.missed()))

    def as_inconclusive(self, reason: str) -> Verdict:
        """This verdict, inconclusive: the figures are kept, but no target may pass or fail on
        them — a fault that was not exercised tested nothing (a "miss" such as a detection
        that never came would only echo the fault not landing). Misses stay listed."""
        if self.state == "failed":
            reason = f"{reason}; figures outside their limits: {self.reason}"
        return replace(self, state="inconclusive", reason=reason)

    def check(self) -> None:
        """Raise MissedTargets (failed) or Inconclusive unless every target passed."""
        if self.state == "inconclusive":
            raise Inconclusive(self.failure_message())
        if self.state == "failed":
            raise MissedTargets(self.failure_message())
        if self.state == "error":
            raise FlexchaosError(self.failure_message())

    def clock_note(self) -> str:
        if not self.clock.scaled:
            return "durations in seconds (Azure's clock = wall clock)"
        return (
            f"durations in platform seconds; wall = platform x {self.time_scale:g} "
            "(emulator time scale)"
        )

    # ---- renderers -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "state": self.state,
            "passed": self.passed,
            "time_scale": self.time_scale,
            "reason": self.reason,
            "exit_code": self.exit_code,
            "rows": [json_safe(asdict(row)) for row in self.rows],
            "measured": {k: json_safe(v) for k, v in self.measured.items()},
            "hypothesis": self.hypothesis,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Verdict:
        return cls(
            experiment=data["experiment"],
            rows=tuple(VerdictRow(**from_json_safe_map(row)) for row in data["rows"]),
            state=_state(data["state"]),
            time_scale=data.get("time_scale", 1.0),
            reason=data.get("reason", ""),
            measured=from_json_safe_map(data.get("measured") or {}),
            hypothesis=data.get("hypothesis", ""),
        )

    def unproved(self, row: VerdictRow) -> bool:
        """A row within its limit in a verdict that proves nothing: never shown as PASS."""
        return row.judged and row.passed and self.state in ("inconclusive", "error")

    def table_cells(self) -> list[list[str]]:
        return [
            [row.target, row.limit_text(), row.measured_text(),
             "UNPROVED" if self.unproved(row) else row.result_text()]
            for row in self.rows
        ]  # fmt: skip

    def text_table(self) -> str:
        """A plain-text table for the terminal."""
        headers = ["target", "limit", "measured", "result"]
        cells = self.table_cells()
        widths = [max(len(r[i]) for r in [headers, *cells]) for i in range(len(headers))]
        line = "  ".join("-" * w for w in widths)
        out = [
            f"{self.experiment}: {self.state.upper()}"
            + (f" — {self.reason}" if self.state in ("inconclusive", "error") else ""),
            "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
            line,
        ]
        out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
        out += [reason_line for row in self.rows if (reason_line := _reason(row))]
        out.append(f"({self.clock_note()})")
        return "\n".join(line.rstrip() for line in out)

    def markdown_table(self) -> str:
        """A GitHub-flavoured Markdown table (job summaries)."""
        out = ["| target | limit | measured | result |", "|---|---|---|---|"]
        for row, cells in zip(self.rows, self.table_cells(), strict=True):
            mark = "✅ pass" if row.passed else ("❌ fail" if row.judged else "⚠️ not judged")
            mark = "⚠️ unproved" if self.unproved(row) else mark
            measured = cells[2] + (f" — {row.reason}" if row.reason and row.judged else "")
            out.append(f"| `{cells[0]}` | {md_escape(cells[1])} | {md_escape(measured)} | {mark} |")
        if self.state in ("inconclusive", "error"):
            out.append(f"\n**{self.state.capitalize()}**: {md_escape(self.reason)}")
        out.append(f"\n<sub>{self.clock_note()}</sub>")
        return "\n".join(out)

    def html_table(self) -> str:
        """A self-contained HTML table (inline styles: Allure shows it as is)."""
        colour = {
            "passed": "#1a7f37", "failed": "#cf222e", "inconclusive": "#9a6700", "error": "#8250df"
        }[self.state]  # fmt: skip
        cell = "padding:4px 10px;border:1px solid #d0d7de;text-align:left"
        out = [
            f'<div class="flexchaos-verdict"><p style="margin:4px 0"><b>Verdict: '
            f'<span style="color:{colour}">{self.state.upper()}</span></b>'
            + (f" — {html.escape(self.reason)}" if self.reason else "")
            + "</p>",
            '<table style="border-collapse:collapse;font-family:monospace;font-size:13px">',
            "<tr>"
            + "".join(
                f'<th style="{cell};background:#f6f8fa">{h}</th>'
                for h in ("target", "limit", "measured", "result")
            )
            + "</tr>",
        ]
        for row, cells in zip(self.rows, self.table_cells(), strict=True):
            mark_colour = "#1a7f37" if row.passed else ("#cf222e" if row.judged else "#57606a")
            mark_colour = "#9a6700" if self.unproved(row) else mark_colour
            measured = html.escape(cells[2]) + (
                f"<br><small>{html.escape(row.reason)}</small>" if row.reason and row.judged else ""
            )
            out.append(
                f'<tr><td style="{cell}">{html.escape(cells[0])}</td>'
                f'<td style="{cell}">{html.escape(cells[1])}</td>'
                f'<td style="{cell}">{measured}</td>'
                f'<td style="{cell};color:{mark_colour};font-weight:bold">{cells[3]}</td></tr>'
            )
        out.append("</table>")
        out.append(f'<p style="margin:4px 0;font-size:12px">{html.escape(self.clock_note())}</p>')
        out.append("</div>")
        return "\n".join(out)


def judge(
    targets: Targets,
    measured: Mapping[str, float | None],
    *,
    time_scale: float = 1.0,
    not_judged: Mapping[str, str] | None = None,
    details: Mapping[str, str] | None = None,
) -> Verdict:
    """Compare measured values (wall seconds for durations) with the targets' limits.

    `measured` is keyed by measure name (`Metrics.as_measurements()`); a time_scale that is not
    positive and finite is refused by `Clock`. A metric that is absent, None or NaN, or named
    in `not_judged` (measure name → why its evidence has a gap), is **not judged**; math.inf is
    "never ended" and misses an upper bound. A verdict with a missed target is failed; else one
    with a target not judged (or none at all) is inconclusive — never passed. `details` (measure
    name → the measurement in words, `Metrics.details()`) goes on the judged rows.
    """
    clock = Clock(time_scale)
    gaps, words = dict(not_judged or {}), dict(details or {})
    rows = []
    for spec, limit in targets.specs():
        raw = measured.get(spec.metric)
        value = number_or_inf(raw)
        if spec.metric in gaps:
            rows.append(_row(spec, limit, reason=f"{NOT_JUDGED}: {gaps[spec.metric]}"))
            continue
        if value is None:
            reason = (
                f"{NOT_JUDGED}: no measurement of {spec.metric}"
                if raw is None
                else f"{NOT_JUDGED}: measurement of {spec.metric} is not a number ({raw!r})"
            )
            rows.append(_row(spec, limit, reason=reason))
            continue
        judged = spec.measure.on_platform(value, clock)
        passed = judged >= limit if spec.bound == "min" else judged <= limit
        wall = value if spec.measure.platform_time else None
        rows.append(
            replace(_row(spec, limit, judged, passed, wall), detail=words.get(spec.metric, ""))
        )
    verdict = Verdict(
        experiment=targets.experiment,
        rows=tuple(rows),
        state="passed",
        time_scale=clock.time_scale,
        measured={k: number_or_inf(v) for k, v in measured.items()},
    )
    if verdict.missed():
        return replace(
            verdict, state="failed",
            reason="; ".join(row.describe_miss() for row in verdict.missed()),
        )  # fmt: skip
    if not rows:
        return replace(
            verdict, state="inconclusive", reason="no target was set, so none was judged"
        )
    if verdict.not_judged():
        why = "; ".join(row.describe_miss() for row in verdict.not_judged())
        return replace(verdict, state="inconclusive", reason=f"not judged: {why}")
    return verdict


def inconclusive(
    targets: Targets,
    reason: str,
    *,
    time_scale: float = 1.0,
    measured: Mapping[str, float | None] | None = None,
    state: State = "inconclusive",
) -> Verdict:
    """Nothing judged: the steady state did not hold (no fault injected), the fault was not
    exercised, or (state="error") the harness failed."""
    clock = Clock(time_scale)
    rows = tuple(
        _row(spec, limit, reason=f"{NOT_JUDGED}: {reason}") for spec, limit in targets.specs()
    )
    return Verdict(
        experiment=targets.experiment,
        rows=rows,
        state=state,
        time_scale=clock.time_scale,
        reason=reason,
        measured={k: number_or_inf(v) for k, v in (measured or {}).items()},
    )


def _row(
    spec: TargetSpec,
    limit: float,
    measured: float | None = None,
    passed: bool = False,
    wall: float | None = None,
    reason: str = "",
) -> VerdictRow:
    """One row for a target spec; durations are marked as platform seconds."""
    clock: Literal["platform", ""] = "platform" if spec.measure.platform_time else ""
    return VerdictRow(
        spec.key, spec.metric, spec.comparison, limit, measured, spec.measure.unit, passed, clock,
        wall, reason,
    )  # fmt: skip


def _with_reason(verdict: Verdict, reason: str) -> Verdict:
    return replace(verdict, reason=reason)


def _reason(row: VerdictRow) -> str:
    return f"  {row.target}: {row.reason}" if row.reason and not row.judged else ""


def _state(value: str) -> State:
    """Older verdict files said "broken" for what is now inconclusive."""
    return "inconclusive" if value == "broken" else value  # type: ignore[return-value]


__all__ = [
    "EXIT_CODES",
    "INCONCLUSIVE_PREFIX",
    "MISSED_PREFIX",
    "SPECS",
    "Verdict",
    "VerdictRow",
    "inconclusive",
    "judge",
]
