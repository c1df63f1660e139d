"""A verdict as a table for each place people read it: the terminal (text), a job summary
(Markdown) and Allure (self-contained HTML). Same rows, same words, everywhere.
"""

from __future__ import annotations

import html

from reports.figures import markdown_safe
from reports.verdict import Verdict, reason_line


def table_cells(verdict: Verdict) -> list[list[str]]:
    return [
        [row.target, row.limit_text(), row.measured_text(), row.result_text()]
        for row in verdict.rows
    ]


def text_table(verdict: Verdict) -> str:
    """A plain-text table for the terminal."""
    headers = ["target", "limit", "measured", "result"]
    cells = table_cells(verdict)
    widths = [max(len(r[i]) for r in [headers, *cells]) for i in range(len(headers))]
    line = "  ".join("-" * w for w in widths)
    out = [
        f"{verdict.experiment}: {verdict.state.upper()}"
        + (f" — {verdict.reason}" if verdict.state in ("inconclusive", "error") else ""),
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
        line,
    ]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    out += [line for row in verdict.rows if (line := reason_line(row))]
    out.append(f"({verdict.clock_note()})")
    return "\n".join(line.rstrip() for line in out)


def markdown_table(verdict: Verdict) -> str:
    """A GitHub-flavoured Markdown table (job summaries)."""
    out = ["| target | limit | measured | result |", "|---|---|---|---|"]
    for row, cells in zip(verdict.rows, table_cells(verdict), strict=True):
        mark = "✅ pass" if row.passed else ("❌ fail" if row.judged else "⚠️ not judged")
        measured = cells[2] + (f" — {row.reason}" if row.reason and row.judged else "")
        out.append(
            f"| `{cells[0]}` | {markdown_safe(cells[1])} | {markdown_safe(measured)} | {mark} |"
        )
    if verdict.state in ("inconclusive", "error"):
        out.append(f"\n**{verdict.state.capitalize()}**: {markdown_safe(verdict.reason)}")
    out.append(f"\n<sub>{verdict.clock_note()}</sub>")
    return "\n".join(out)


def html_table(verdict: Verdict) -> str:
    """A verdict-contained HTML table (inline styles: Allure shows it as is)."""
    colour = {
        "passed": "#1a7f37", "failed": "#cf222e", "inconclusive": "#9a6700", "error": "#8250df"
    }[verdict.state]  # fmt: skip
    cell = "padding:4px 10px;border:1px solid #d0d7de;text-align:left"
    out = [
        f'<div class="flexchaos-verdict"><p style="margin:4px 0"><b>Verdict: '
        f'<span style="color:{colour}">{verdict.state.upper()}</span></b>'
        + (f" — {html.escape(verdict.reason)}" if verdict.reason else "")
        + "</p>",
        '<table style="border-collapse:collapse;font-family:monospace;font-size:13px">',
        "<tr>"
        + "".join(
            f'<th style="{cell};background:#f6f8fa">{h}</th>'
            for h in ("target", "limit", "measured", "result")
        )
        + "</tr>",
    ]
    for row, cells in zip(verdict.rows, table_cells(verdict), strict=True):
        mark_colour = "#1a7f37" if row.passed else ("#cf222e" if row.judged else "#57606a")
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
    out.append(f'<p style="margin:4px 0;font-size:12px">{html.escape(verdict.clock_note())}</p>')
    out.append("</div>")
    return "\n".join(out)
