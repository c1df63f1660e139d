"""What one experiment produced (plan, injection, timeline, metrics, verdict, evidence), for the
verdict, the report and the terminal: the lifecycle fills it in, the reporters read it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleet.evidence import Drift
from fleet.faults import Proof
from fleet.injector import Injection
from fleet.plan import Plan
from flexchaos.scenario import Scenario
from probes.metrics import Metrics
from probes.timeline import Timeline
from reports.verdict import Verdict


@dataclass
class Outcome:
    """Everything an experiment produced, for the verdict, the report and the terminal."""

    scenario: Scenario
    plan: Plan | None = None
    injection: Injection | None = None
    timeline: Timeline | None = None
    metrics: Metrics | None = None
    verdict: Verdict | None = None
    evidence_before: dict[str, Any] | None = None
    evidence_after: dict[str, Any] | None = None
    drift: Drift | None = None
    load_dir: Path | None = None  # Locust's own output (stats CSV, JSON totals)
    aborted: str | None = None
    proof: Proof | None = None  # what the observations show about whether the fault landed
    events: list[dict[str, Any]] = field(default_factory=list)
    work_dir: Path | None = None

    @property
    def vms(self) -> tuple[str, ...]:
        return self.plan.selected.names if self.plan else ()

    @property
    def seed(self) -> int | None:
        return self.plan.selected.seed if self.plan else None
