"""What a game day ended with, experiment by experiment, and the exit code that tells a pipeline
who to call (README, "Exit codes"):

    0 every target met · 1 a target missed (the design failed) · 2 bad input (nothing touched)
    3 inconclusive (steady state broken, fault not exercised, not judged, dry run, nothing run)
    4 harness error · 130 interrupted

Every experiment ends in exactly one of: a verdict (passed, failed, inconclusive, error) or bad
input. An experiment that never produced a verdict — it raised, or never called
`game_day.run()` — is recorded as an error or as inconclusive here, so it can never count as a
pass. The plugin writes `verdicts.json` and `run.json` (this record); `flexchaos gameday` exits
with its code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from flexchaos.workdir import WorkDir
from reports.exit_codes import BAD_INPUT, FAILED, PASSED, overall_exit_code
from reports.exit_codes import INTERRUPTED as INTERRUPTED_EXIT
from reports.targets import Targets
from reports.verdict import Verdict, inconclusive

__all__ = [
    "BAD_INPUT", "INTERRUPTED_EXIT", "RunResult", "read_exit_code", "read_problems", "read_run"
]  # fmt: skip


@dataclass
class RunResult:
    """Verdicts and bad inputs of one session, in the order experiments ended."""

    verdicts: list[Verdict] = field(default_factory=list)
    bad_input: list[str] = field(default_factory=list)
    other_failures: list[str] = field(default_factory=list)  # tests without a chaos marker
    interrupted: bool = False
    # experiment → its hypothesis as shown (the claim, then "Judged by: …"), from collection
    hypotheses: dict[str, str] = field(default_factory=dict)
    # experiment → what the run summary shows besides the verdict: fault, title, VMs, seed, and
    # the command line that reruns exactly this experiment
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    review: list[dict[str, str]] | None = None  # the design review's checklist, when it ran
    identity: dict[str, Any] = field(default_factory=dict)  # flexchaos/run_identity.py

    def add(self, verdict: Verdict) -> None:
        """Record a verdict, with the hypothesis it judged (for the job summary)."""
        shown = self.hypotheses.get(verdict.experiment)
        if shown and not verdict.hypothesis:
            verdict = replace(verdict, hypothesis=shown)
        self.verdicts.append(verdict)

    def has(self, experiment: str) -> bool:
        return any(v.experiment == experiment for v in self.verdicts)

    def unfinished(self, targets: Targets, why: str, *, error: bool, time_scale: float) -> Verdict:
        """Record an experiment that produced no verdict of its own."""
        verdict = inconclusive(
            targets, why, time_scale=time_scale, state="error" if error else "inconclusive"
        )
        self.add(verdict)
        return verdict

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return INTERRUPTED_EXIT
        if self.bad_input:
            return BAD_INPUT
        if not self.verdicts:  # no experiment ran (e.g. only the design review)
            return FAILED if self.other_failures else PASSED
        code = overall_exit_code(v.state for v in self.verdicts)
        return FAILED if code == PASSED and self.other_failures else code

    @property
    def problems(self) -> list[str]:
        """What the summaries list besides the verdicts: bad input and failed plain tests."""
        return [f"bad input: {line}" for line in self.bad_input] + [
            f"failed (a test, not an experiment): {name}" for name in self.other_failures
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "experiments": {v.experiment: v.state for v in self.verdicts},
            "bad_input": self.bad_input,
            "other_failures": self.other_failures,
            "interrupted": self.interrupted,
            "problems": self.problems,
            "identity": self.identity,
            "experiment_details": self.experiments,
            "review": self.review,
        }

    def write(self, work_dir: WorkDir) -> Path:
        work_dir.create()
        work_dir.verdicts.write_text(
            json.dumps([v.to_dict() for v in self.verdicts], indent=2), encoding="utf-8"
        )
        work_dir.run_result.write_text(json.dumps(self.to_json(), indent=2), encoding="utf-8")
        return work_dir.run_result


def read_exit_code(path: Path) -> int | None:
    """The exit code a session recorded in its run.json, or None when it recorded nothing."""
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["exit_code"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_run(path: Path) -> dict[str, Any]:
    """The whole run.json a session wrote ({} when it wrote none or it cannot be read)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def read_problems(path: Path) -> list[str]:
    """The problems a session recorded in its run.json (none when it recorded nothing)."""
    try:
        problems = json.loads(path.read_text(encoding="utf-8")).get("problems", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [str(p) for p in problems] if isinstance(problems, list) else []
