"""What a game day's exit code means and who to call: the one table a pipeline acts on.

A release gate is read by a machine first and a person second: the code picks the branch of
the pipeline, the sentence tells the person on call whom to wake. The README's and
docs/reports.md's exit-code tables are this table (a test keeps them equal), the terminal's and
the job summary's headline and "who to call" line come from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ExitMeaning:
    """One exit code: its headline, what it means and whom to call."""

    code: int
    headline: str
    meaning: str
    call: str

    def sentence(self) -> str:
        """One line for a summary: the code, what it means, who to call."""
        return f"Exit {self.code}: {self.meaning}. Who to call: {self.call}."


PASSED, FAILED, BAD_INPUT, INCONCLUSIVE, ERROR, INTERRUPTED = 0, 1, 2, 3, 4, 130

MEANINGS: dict[int, ExitMeaning] = {
    m.code: m
    for m in (
        ExitMeaning(
            PASSED, "PASSED",
            "every experiment ran, its fault was proved and every target was judged and met",
            "nobody; the gate is open",
        ),
        ExitMeaning(
            FAILED, "FAILED (a target was missed)",
            "the fault ran and a target was missed (or an abort condition stopped the hold, or "
            "a design-review check failed): the design failed",
            "the owners of the service and its scale set (a design finding, not a flaky test)",
        ),
        ExitMeaning(
            BAD_INPUT, "BAD INPUT (refused before its fault)",
            "the targets file, an experiment, an option or the fleet is wrong or cannot be met; "
            "refused before that experiment's fault (at collection: before anything started)",
            "whoever wrote the game day or the pipeline step: fix the line it names",
        ),
        ExitMeaning(
            INCONCLUSIVE, "INCONCLUSIVE (nothing may pass on it)",
            "nothing was proved either way: steady state broken, fault not exercised, a figure "
            "not judged, no target, or a dry run",
            "the game day's owner: make the fleet healthy or the evidence whole and run again; "
            "never ship on it",
        ),
        ExitMeaning(
            ERROR, "ERROR (the harness failed)",
            "the harness or its environment failed, so no figure can be trusted",
            "the flexchaos maintainers, with the run's work dir; run `flexchaos rollback`",
        ),
        ExitMeaning(
            INTERRUPTED, "INTERRUPTED",
            "stopped by Ctrl-C or SIGTERM; the faults in were reverted",
            "whoever stopped it; `flexchaos rollback` reverts anything a failed revert left open",
        ),
    )
}  # fmt: skip


def meaning(code: int) -> ExitMeaning:
    """The meaning of a code; an unknown one is a harness error (never a pass)."""
    known = MEANINGS.get(code)
    if known is not None:
        return known
    error = MEANINGS[ERROR]
    return ExitMeaning(code, f"UNKNOWN EXIT {code}", error.meaning, error.call)


def headline(code: int) -> str:
    """`PASSED, exit 0`, `FAILED (a target was missed), exit 1`, ..."""
    return f"{meaning(code).headline}, exit {code}"


def markdown_table() -> str:
    """The exit-code table as the README and docs/reports.md print it."""
    rows = ["| exit | result | what it means | who to call |", "|---|---|---|---|"]
    for m in MEANINGS.values():
        rows.append(f"| {m.code} | {m.headline} | {m.meaning} | {m.call} |")
    return "\n".join(rows)


def overall_exit_code(states: Iterable[str]) -> int:
    """The game day's code from its verdicts' states: 4 when the harness failed anywhere (its
    figures cannot be trusted), else 1 when a target was missed (the design failed), else 3
    when anything was inconclusive or nothing was judged, else 0."""
    found = set(states)
    if "error" in found:
        return ERROR
    if "failed" in found:
        return FAILED
    if not found or "inconclusive" in found:
        return INCONCLUSIVE
    return PASSED
