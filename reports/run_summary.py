"""The run summary: one table for the whole game day, and the run's identity above it.

One row per experiment — its fault, its result category (met, missed, inconclusive, error),
each figure against its limit, and the change from the previous run — so a release manager
reads the run in one minute. The same table is the terminal's closing table, the CI job
summary and the report's first page (`index.html`, also a global attachment in Allure).
The design review is not an experiment: it is a checklist below the table (finding, severity,
what to change). The previous run comes from trend.jsonl (reports/trend.py).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from probes.measures import FAILOVER_TIME, RECOVERY_TIME
from reports import exit_codes
from reports.trend import TrendPoint
from reports.values import md_escape
from reports.verdict import Verdict, VerdictRow

CATEGORY = {"passed": "met", "failed": "missed", "inconclusive": "inconclusive", "error": "error"}
ICON = {"met": "✅", "missed": "❌", "inconclusive": "⚠️", "error": "💥"}
# text glyphs for the HTML page: a headless browser without an emoji font draws emoji as boxes
GLYPH = {"met": "✓", "missed": "✗", "inconclusive": "⚠", "error": "✱"}
COLOUR = {"met": "#1a7f37", "missed": "#cf222e", "inconclusive": "#9a6700", "error": "#8250df"}
SHORT = {  # column headers: the figure each target bounds
    "min_healthy_capacity": "capacity",
    "max_detection_time_s": "detection",
    "max_failover_time_s": "failover",
    "max_error_rate": "errors",
    "max_p95_latency_ms": "p95",
    "max_recovery_time_s": "recovery",
}
IDENTITY_LABELS = (
    ("fleet", "fleet"), ("subscription", "subscription"), ("resource_group", "resource group"),
    ("scale_set", "scale set"), ("flexchaos_version", "flexchaos"), ("git_commit", "commit"),
    ("seed", "seed"), ("time_scale", "time scale"), ("started", "start"), ("ended", "end"),
    ("pipeline_url", "pipeline run"), ("trigger", "trigger"),
)  # fmt: skip


@dataclass(frozen=True)
class Cell:
    """One figure against its limit: `text` ("3.1 s ≤ 30"), `mark` (✓ ✗ – ~)."""

    text: str
    mark: str

    def shown(self) -> str:
        return f"{self.mark} {self.text}"


@dataclass(frozen=True)
class Row:
    experiment: str
    fault: str
    category: str
    cells: dict[str, Cell]
    change: str
    why: str


def build_rows(
    verdicts: Sequence[Verdict],
    details: Mapping[str, Mapping[str, Any]],
    previous: Mapping[str, TrendPoint],
) -> list[Row]:
    rows = []
    for v in verdicts:
        category = CATEGORY[v.state]
        cells = {r.target: _cell(v, r) for r in v.rows if r.target in SHORT}
        why = ""
        if v.state in ("inconclusive", "error"):
            why = compact_reason(v.reason)
        elif v.state == "failed":
            why = "; ".join(r.describe_miss() for r in v.missed())
        fault = str((details.get(v.experiment) or {}).get("fault", ""))
        rows.append(
            Row(v.experiment, fault, category, cells, _change(v, previous.get(v.experiment)), why)
        )
    order = list(details)  # the order the experiments ran in, when known
    return sorted(rows, key=lambda r: (order.index(r.experiment) if r.experiment in order
                                       else len(order), r.experiment))  # fmt: skip


def compact_reason(reason: str) -> str:
    """"a: not judged: X; b: not judged: X" → "not judged (a, b): X": one reason once."""
    prefix, sep, rest = reason.partition("not judged: ")
    if not sep:
        return reason
    grouped: dict[str, list[str]] = {}
    for part in rest.split("; "):
        key, sep2, why = part.partition(": not judged: ")
        if not sep2:
            return reason
        grouped.setdefault(why, []).append(key)
    text = "; ".join(f"not judged ({', '.join(keys)}): {why}" for why, keys in grouped.items())
    return prefix + text


def counts(rows: Sequence[Row]) -> str:
    """`6 experiments: 5 met, 1 missed, 0 inconclusive, 0 error`."""
    tally = ", ".join(f"{sum(r.category == c for r in rows)} {c}" for c in ICON)
    return f"{len(rows)} experiments: {tally}"


def previous_points(points: Sequence[TrendPoint], before: str) -> dict[str, TrendPoint]:
    """Each experiment's latest trend point from a run that started before `before` (ISO)."""
    latest: dict[str, TrendPoint] = {}
    for point in sorted(points, key=lambda p: p.time):
        if before and point.time >= before:
            continue
        latest[point.experiment] = point
    return latest


# -- renderings ----------------------------------------------------------------------------------
def text_summary(
    rows: Sequence[Row],
    *,
    identity: Mapping[str, Any],
    exit_code: int,
    problems: Sequence[str] = (),
    review: Sequence[Mapping[str, str]] | None = None,
    reruns: Mapping[str, str] | None = None,
) -> str:
    """The terminal's closing summary: identity, the one table, the review, the headline."""
    columns = _columns(rows)
    header = ["experiment", "fault", "result", *(SHORT[c] for c in columns), "vs previous run"]
    body = [
        [r.experiment, r.fault or "-", r.category.upper(),
         *(r.cells[c].shown() if c in r.cells else "" for c in columns), r.change]
        for r in rows
    ]  # fmt: skip
    lines = [identity_line(identity)] if identity else []
    if rows:
        lines.append(counts(rows))
        widths = [max(len(x[i]) for x in [header, *body]) for i in range(len(header))]
        lines += ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
        lines += ["  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(b, widths, strict=True)).rstrip()
                  for b in body]  # fmt: skip
        lines.append(LEGEND)
    for r in rows:
        if r.why:
            lines.append(f"{r.experiment}: {r.why}")
            if reruns and r.experiment in reruns:
                lines.append(f"  rerun: {reruns[r.experiment]}")
    lines += [f"problem: {p}" for p in problems]
    if review is not None:  # every check was printed live: here only what needs a change
        lines += ["", *review_lines(review, only_findings=True)]
    lines += ["", exit_codes.meaning(exit_code).sentence(),
              f"game day {exit_codes.headline(exit_code)}"]  # fmt: skip
    return "\n".join(lines) + "\n"


def markdown_summary(
    rows: Sequence[Row],
    *,
    identity: Mapping[str, Any],
    exit_code: int,
    problems: Sequence[str] = (),
    review: Sequence[Mapping[str, str]] | None = None,
    title: str = "flexchaos game day",
    report: str | None = None,
) -> str:
    """The CI job summary: the same table in Markdown, identity and review included."""
    columns = _columns(rows)
    lines = [
        f"## {title}: {exit_codes.headline(exit_code)}", "",
        f"**{exit_codes.meaning(exit_code).sentence()}**", "",
    ]  # fmt: skip
    if identity:
        lines += [md_escape(identity_line(identity)), ""]
    if rows:
        lines += [counts(rows), ""]
        head = ["experiment", "fault", "result", *(SHORT[c] for c in columns), "vs previous run"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows:
            cells = [r.cells[c].shown() if c in r.cells else "" for c in columns]
            lines.append(
                "| " + " | ".join(md_escape(x) for x in [
                    f"`{r.experiment}`", r.fault, f"{ICON[r.category]} {r.category}", *cells,
                    r.change]) + " |"
            )  # fmt: skip
        lines += ["", LEGEND]
    why = [f"- `{r.experiment}`: {md_escape(r.why)}" for r in rows if r.why]
    lines += ["", *why] if why else []
    lines += [""] + [f"- {md_escape(p)}" for p in problems] if problems else []
    if review is not None:
        lines += ["", "### Design review (checklist, not an experiment)", "",
                  "| check | status | severity | finding | what to change |",
                  "|---|---|---|---|---|"]  # fmt: skip
        lines += [
            f"| {f['check']} | {f['status']} | {f['severity']} | {md_escape(f['finding'])} | "
            f"{md_escape(f['change']) or '—'} |"
            for f in review
        ]
    if report:
        lines += ["", f"Report: `{report}`"]
    return "\n".join(lines) + "\n"


def html_summary(
    rows: Sequence[Row],
    *,
    identity: Mapping[str, Any],
    exit_code: int,
    problems: Sequence[str] = (),
    review: Sequence[Mapping[str, str]] | None = None,
    links: Mapping[str, str] | None = None,
    title: str = "flexchaos game day",
) -> str:
    """The report's first page: a self-contained HTML file (no script, no network)."""
    e = html.escape
    columns = _columns(rows)
    cell = "padding:5px 9px;border-bottom:1px solid #d0d7de;text-align:left;vertical-align:top"
    figure_cell = cell + ";white-space:nowrap"
    code = exit_codes.meaning(exit_code)
    out = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}: run summary</title></head>",
        '<body style="font-family:system-ui,sans-serif;margin:24px 32px;color:#1f2328">',
        f'<h1 style="margin:0 0 4px">{e(title)}: {e(exit_codes.headline(exit_code))}</h1>',
        f'<p style="margin:0 0 14px;font-size:15px"><b>{e(code.sentence())}</b></p>',
    ]
    if links:
        out.append("<p>" + " · ".join(f'<a href="{e(url)}">{e(name)}</a>'
                                      for name, url in links.items()) + "</p>")  # fmt: skip
    if identity:
        out.append('<table style="border-collapse:collapse;font-size:13px;margin-bottom:16px">')
        for key, label in IDENTITY_LABELS:
            value = identity.get(key)
            if value in (None, ""):
                continue
            shown = f'<a href="{e(str(value))}">{e(str(value))}</a>' if key == "pipeline_url" \
                else e(_display(key, value))  # fmt: skip
            out.append(f'<tr><th style="{cell};color:#57606a">{e(label)}</th>'
                       f'<td style="{cell}">{shown}</td></tr>')  # fmt: skip
        out.append("</table>")
    if rows:
        head = ["experiment", "fault", "result", *(SHORT[c] for c in columns), "vs previous run"]
        out.append(f"<p>{e(counts(rows))}</p>")
        out.append('<table style="border-collapse:collapse;font-size:14px">')
        out.append("<tr>" + "".join(f'<th style="{cell};background:#f6f8fa">{e(h)}</th>'
                                    for h in head) + "</tr>")  # fmt: skip
        for r in rows:
            colour = COLOUR[r.category]
            figures = "".join(
                f'<td style="{figure_cell};color:{_mark_colour(r.cells[c].mark)}">'
                f"{e(r.cells[c].shown())}</td>" if c in r.cells else f'<td style="{cell}"></td>'
                for c in columns
            )
            why = f'<br><small style="color:#57606a">{e(r.why)}</small>' if r.why else ""
            out.append(
                f'<tr><td style="{cell}"><b>{e(r.experiment)}</b>{why}</td>'
                f'<td style="{figure_cell}">{e(r.fault)}</td>'
                f'<td style="{figure_cell};color:{colour};font-weight:bold">'
                f"{GLYPH[r.category]} {e(r.category)}</td>{figures}"
                f'<td style="{cell};min-width:15em">{e(r.change)}</td></tr>'
            )
        out.append("</table>")
        out.append(f'<p style="color:#57606a;font-size:12px">{e(LEGEND)}</p>')
    if problems:
        out.append("<ul>" + "".join(f"<li>{e(p)}</li>" for p in problems) + "</ul>")
    if review is not None:
        out.append(review_html(review))
    out.append("</body></html>")
    return "\n".join(out)


def review_lines(review: Sequence[Mapping[str, str]], only_findings: bool = False) -> list[str]:
    """The design review as a checklist for the terminal: every check (or only those that did
    not pass), with what to change."""
    counts = {s: sum(f["status"] == s for f in review) for s in ("pass", "warn", "fail")}
    lines = [
        f"design review (a checklist, not an experiment): {counts['pass']} pass, "
        f"{counts['warn']} warn, {counts['fail']} fail"
    ]
    for f in review:
        if only_findings and f["status"] == "pass":
            continue
        box = {"pass": "[x]", "warn": "[!]", "fail": "[ ]"}[f["status"]]
        lines.append(f"  {box} {f['check']} ({f['status']}, severity {f['severity']}): "
                     f"{f['finding']}")  # fmt: skip
        if f.get("change"):
            lines.append(f"      change: {f['change']}")
    return lines


def review_html(review: Sequence[Mapping[str, str]]) -> str:
    e = html.escape
    cell = "padding:5px 9px;border-bottom:1px solid #d0d7de;text-align:left;vertical-align:top"
    colours = {"pass": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e"}
    out = [
        '<h2 style="font-size:17px;margin-top:22px">Design review '
        '<small style="color:#57606a">(a checklist, not an experiment)</small></h2>',
        '<table style="border-collapse:collapse;font-size:14px"><tr>'
        + "".join(f'<th style="{cell};background:#f6f8fa">{h}</th>'
                  for h in ("check", "status", "severity", "finding", "what to change"))
        + "</tr>",
    ]  # fmt: skip
    for f in review:
        out.append(
            f'<tr><td style="{cell}">{e(f["check"])}</td>'
            f'<td style="{cell};color:{colours[f["status"]]};font-weight:bold">{f["status"]}</td>'
            f'<td style="{cell}">{e(f["severity"])}</td><td style="{cell}">{e(f["finding"])}</td>'
            f'<td style="{cell}">{e(f["change"]) or "—"}</td></tr>'
        )
    out.append("</table>")
    return "\n".join(out)


def identity_line(identity: Mapping[str, Any]) -> str:
    """The identity in one line: `run: emulator · subscription … · scale set … · …`."""
    parts = []
    for key, label in IDENTITY_LABELS:
        value = identity.get(key)
        if value not in (None, ""):
            parts.append(f"{label} {_display(key, value)}")
    return "run: " + " · ".join(parts)


# -- helpers -------------------------------------------------------------------------------------
def _display(key: str, value: object) -> str:
    """Times as `2026-12-03 17:35:24 UTC` (ISO in run.json, for comparing)."""
    text = str(value)
    if key in ("started", "ended") and text.endswith("+00:00"):
        return text.removesuffix("+00:00").replace("T", " ") + " UTC"
    return text


def _columns(rows: Sequence[Row]) -> list[str]:
    return [key for key in SHORT if any(key in r.cells for r in rows)]


LEGEND = (
    "(durations in platform seconds; ✓ within its limit, ✗ missed, – not judged, ~ within its "
    "limit but unproved: the experiment proved nothing)"
)


def _cell(verdict: Verdict, row: VerdictRow) -> Cell:
    if not row.judged or row.measured is None:
        mark = "–"
    elif verdict.unproved(row):
        mark = "~"
    else:
        mark = "✓" if row.passed else "✗"
    if row.measured is None:
        return Cell("not judged", mark)
    return Cell(f"{_short(row.measured, row.unit, row.target)} {_limit(row)}", mark)


def _short(value: float | None, unit: str, key: str) -> str:
    if value is None:
        return "n/j"
    if math.isinf(value):
        return "never ended"
    if unit == "":  # a fraction: capacity and error rate as percentages
        return f"{value:.0%}" if key == "min_healthy_capacity" else f"{value:.2%}"
    if unit == "ms":
        return f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"
    return f"{value:.1f} s" if value < 100 else f"{value:.0f} s"


def _limit(row: VerdictRow) -> str:
    sign = {">=": "≥", "<=": "≤"}.get(row.comparison, row.comparison)
    shown = f"{row.limit:.0%}" if row.unit == "" else f"{row.limit:g}"
    return f"{sign} {shown}"


def _change(verdict: Verdict, before: TrendPoint | None) -> str:
    if before is None:
        return "first run"
    parts = []
    if CATEGORY.get(before.state, before.state) != CATEGORY[verdict.state]:
        parts.append(f"was {CATEGORY.get(before.state, before.state)}")
    for measure, label in ((FAILOVER_TIME, "failover"), (RECOVERY_TIME, "recovery")):
        wall = verdict.measured.get(measure.name)
        old = before.value(measure)
        if wall is None or old is None or not isinstance(wall, float | int):
            continue
        now = measure.on_platform(float(wall), verdict.clock)
        if math.isinf(now) or math.isinf(old):
            if math.isinf(now) != math.isinf(old):
                parts.append(f"{label} {'never ended' if math.isinf(now) else 'ended again'}")
            continue
        parts.append(f"{label} {now - old:+.1f} s")
    return ", ".join(parts) or "no change"


def _mark_colour(mark: str) -> str:
    return {"✓": "#1a7f37", "✗": "#cf222e", "~": "#9a6700"}.get(mark, "#57606a")
