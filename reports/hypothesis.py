"""The hypothesis as shown: the author's claim in words, then what the gate really judges.

A hypothesis that says "no user-visible errors" beside a 5 % error-rate limit tells a reader
that the gate proved more than it did. So the words are never shown alone: `stated()` appends
"Judged by: …", generated from the experiment's targets, and `contradictions()` rejects the
known claims a target would contradict, before anything runs:

- "no (user-visible) errors / failures" while `max_error_rate` is above 0 or not set;
- "within one probe interval" while `max_failover_time_s` is above what one probe round of the
  fleet's load balancer takes (interval x threshold), or not set.

These are the claims the shipped experiments used to make; the check is a regular expression,
not a reading of prose, and says so in its message.
"""

from __future__ import annotations

import re

from probes.measures import Measure
from reports.target_checks import LoadBalancerProbe, detection_floor_s, probe_text
from reports.targets import Targets

NO_ERRORS = re.compile(
    r"\b(?:no|zero|without|never)\b(?:\s+[\w-]+){0,2}?\s+"
    r"(?:errors?|failures?|failed requests?)\b",
    re.IGNORECASE,
)
REWORD = 'reword the claim to what the targets judge (shown after it as "Judged by: …")'
ONE_PROBE_INTERVAL = re.compile(
    r"\bwithin\s+(?:one|a|a single|its|the)\s+(?:load[- ]balancer\s+)?probe\s+interval\b",
    re.IGNORECASE,
)


def label(measure: Measure) -> str:
    """A measure as a reader says it: `p95_latency_ms` → "p95 latency"."""
    name = measure.name.removeprefix("min_").removeprefix("max_")
    for suffix in ("_ms", "_s"):
        name = name.removesuffix(suffix)
    return name.replace("_", " ")


def limit_text(measure: Measure, limit: float) -> str:
    """A limit in the measure's unit: ratios as percentages, durations in seconds."""
    if measure.unit == "" and measure.high == 1.0:
        return f"{limit * 100:g} %"
    return f"{limit:g} {measure.unit}".rstrip()


def judged_by(targets: Targets) -> str:
    """ "Judged by: healthy capacity ≥ 80 %, failover time ≤ 30 s, …" from the targets."""
    parts = [
        f"{label(spec.measure)} {'≥' if spec.bound == 'min' else '≤'} "
        f"{limit_text(spec.measure, limit)}"
        for spec, limit in targets.specs()
    ]
    if not parts:
        return "Judged by: nothing (no target is set)."
    durations = any(spec.measure.platform_time for spec, _ in targets.specs())
    return "Judged by: " + ", ".join(parts) + (" (platform seconds)." if durations else ".")


def stated(hypothesis: str, targets: Targets) -> str:
    """The hypothesis as every summary shows it: the author's words, then what is judged."""
    words = hypothesis.strip()
    if words and words[-1] not in ".!?":
        words += "."
    return f"{words} {judged_by(targets)}".strip()


def contradictions(
    hypothesis: str, targets: Targets, probe: LoadBalancerProbe | None = None
) -> list[str]:
    """Claims in the hypothesis that its targets contradict, one line each.

    The probe-interval claim needs the fleet's probe; without it (Azure before the preflight
    has read the load balancer) it is checked later."""
    where = f"{targets.source}: {targets.experiment}"
    problems = []
    claim = NO_ERRORS.search(hypothesis)
    error_limit = targets.limits.get("max_error_rate")
    if claim and (error_limit is None or error_limit > 0):
        allowed = "is not set" if error_limit is None else f"= {error_limit:g} allows errors"
        problems.append(
            f'{where}: the hypothesis claims "{claim.group(0)}" but max_error_rate {allowed}; '
            f"{REWORD}"
        )
    claim = ONE_PROBE_INTERVAL.search(hypothesis)
    failover = targets.limits.get("max_failover_time_s")
    if claim and probe is not None:
        floor = detection_floor_s(probe)
        if failover is None or failover > floor:
            allowed = "is not set" if failover is None else f"= {failover:g} s allows more"
            problems.append(
                f'{where}: the hypothesis claims "{claim.group(0)}" ({probe_text(probe)}) but '
                f"max_failover_time_s {allowed}; {REWORD}"
            )
    return problems
