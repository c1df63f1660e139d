"""Hypotheses and targets agree: "Judged by: …" comes from the targets, and the claims a target
contradicts are refused — the shipped experiments included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from emulator.topology import Topology
from fleet.evidence import LbProbe
from reports.hypothesis import contradictions, judged_by, stated
from reports.targets import Targets, load_targets

REPO = Path(__file__).resolve().parents[2]
DEFAULTS = {
    "min_healthy_capacity": 0.8, "max_failover_time_s": 30.0, "max_error_rate": 0.05,
    "max_p95_latency_ms": 1000.0, "max_recovery_time_s": 180.0,
}  # fmt: skip
PROBE = LbProbe("lb-web", 5.0, 1)


def test_judged_by_is_generated_from_the_targets() -> None:
    text = judged_by(Targets("test_stop_vm", DEFAULTS))
    assert text == (
        "Judged by: healthy capacity ≥ 80 %, failover time ≤ 30 s, error rate ≤ 5 %, "
        "p95 latency ≤ 1000 ms, recovery time ≤ 180 s (platform seconds)."
    )
    assert judged_by(Targets("x", {})) == "Judged by: nothing (no target is set)."
    shown = stated("One VM down costs users little", Targets("x", {"max_error_rate": 0.02}))
    assert shown == "One VM down costs users little. Judged by: error rate ≤ 2 %."


@pytest.mark.parametrize(
    ("hypothesis", "limits", "expected"),
    [
        ("with no user-visible errors", {"max_error_rate": 0.05}, '"no user-visible errors"'),
        ("users see zero errors", {}, "max_error_rate is not set"),
        ("fails over within one probe interval", {"max_failover_time_s": 30.0}, "= 30 s allows"),
        ("routes around it within its probe interval", {}, "max_failover_time_s is not set"),
    ],
)
def test_a_claim_its_targets_contradict_is_one_line(
    hypothesis: str, limits: dict[str, float], expected: str
) -> None:
    [problem] = contradictions(hypothesis, Targets("test_x", limits, "t.toml"), PROBE)
    assert problem.startswith("t.toml: test_x: the hypothesis claims") and expected in problem
    assert "\n" not in problem


def test_claims_the_targets_support_pass() -> None:
    assert contradictions("no user-visible errors", Targets("x", {"max_error_rate": 0.0})) == []
    within = Targets("x", {"max_failover_time_s": 5.0})
    assert contradictions("fails over within one probe interval", within, PROBE) == []
    # the probe-interval claim waits for the probe (Azure: the preflight reads it)
    late = Targets("x", {"max_failover_time_s": 30.0})
    assert contradictions("within one probe interval", late, None) == []
    assert contradictions("users see no more than 5 % errors", Targets("x", DEFAULTS)) == []


def shipped_hypotheses() -> list[tuple[str, str]]:
    found = []
    for path in sorted((REPO / "experiments").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            for call in getattr(node, "decorator_list", []):
                for kw in getattr(call, "keywords", []):
                    if kw.arg == "hypothesis":
                        found.append((node.name, ast.literal_eval(kw.value)))
    return found


def test_the_shipped_hypotheses_agree_with_the_shipped_targets() -> None:
    """Every experiment in experiments/ (extra/ included) against targets.toml and the default
    fleet's load balancer (what `flexchaos gameday` starts)."""
    lb = Topology().load_balancer
    probe = LbProbe(lb.name, lb.probe_interval_in_seconds, lb.probe_threshold)
    targets = load_targets(REPO / "experiments" / "targets.toml")
    hypotheses = shipped_hypotheses()
    assert len(hypotheses) == 9
    problems = [
        p for name, text in hypotheses
        for p in contradictions(text, targets.for_experiment(name), probe)
    ]  # fmt: skip
    assert problems == []
