"""Targets checked against what a run can prove, before anything runs.

A targets file can be well formed and still promise a gate that never means anything: a
section whose name matches no experiment silently leaves that experiment on the defaults, an
experiment with no target can never pass or fail, and a failover limit under what the load
balancer can detect is a miss decided by the fleet's probe settings, not by its design. Each of
these is bad input, reported as one line naming the file, the experiment and what to change.

The fleet's side comes in as `LoadBalancerProbe` (the load balancer's health probe: every
`interval_s` platform seconds, `threshold` consecutive failures to take a backend out), read
from the emulator's topology at collection or from the load balancer in the preflight.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from typing import Protocol

from reports.targets import Targets, TargetsFile

# Limits on how soon users stop seeing a VM that went away: none can be under the time the
# load balancer needs to mark the VM down (`max_detection_time_s` once that target exists).
FLOORED_KEYS = ("max_failover_time_s", "max_detection_time_s")


class LoadBalancerProbe(Protocol):
    """A load balancer's health probe, in platform seconds."""

    @property
    def name(self) -> str: ...

    @property
    def interval_s(self) -> float: ...

    @property
    def threshold(self) -> int: ...


def detection_floor_s(probe: LoadBalancerProbe) -> float:
    """How long the load balancer may keep a dead backend in rotation: threshold probes, one
    interval apart (Azure marks it down after `probeThreshold` consecutive failures)."""
    return float(probe.interval_s) * max(1, int(probe.threshold))


def probe_text(probe: LoadBalancerProbe) -> str:
    floor = detection_floor_s(probe)
    return (
        f"load balancer probe {probe.name} every {probe.interval_s:g} s x threshold "
        f"{probe.threshold} = {floor:g} s"
    )


def unknown_sections(targets: TargetsFile, known: Collection[str]) -> list[str]:
    """`[experiments.X]` sections that name no known experiment, each with a near miss.

    A parametrized id (`test_x[a]`) is known when `test_x` is."""
    problems = []
    names = sorted(set(known))
    for section in targets.experiments:
        if section in known or section.split("[", 1)[0] in known:
            continue
        close = difflib.get_close_matches(section, names, n=1, cutoff=0.6)
        hint = (
            f"did you mean {close[0]}?"
            if close
            else f"known experiments: {', '.join(names) or 'none collected'}"
        )
        problems.append(
            f"{targets.path}: [experiments.{section}] names no experiment, so its limits would "
            f"never apply; {hint}"
        )
    return problems


def no_judged_target(targets: Targets) -> str | None:
    """One line when an experiment has nothing to judge (it could never pass)."""
    if targets.specs():
        return None
    base = targets.experiment.split("[", 1)[0]
    return (
        f"{targets.source}: {targets.experiment} has no target to judge ([defaults] and "
        f"[experiments.{base}] set none), so it could never pass; set at least one limit"
    )


def below_floor(targets: Targets, probe: LoadBalancerProbe) -> list[str]:
    """Limits that the fleet's load balancer cannot physically meet, one line each."""
    floor = detection_floor_s(probe)
    problems = []
    for key in FLOORED_KEYS:
        limit = targets.limits.get(key)
        if limit is not None and limit < floor:
            problems.append(
                f"{targets.source}: {targets.experiment}: {key} = {limit:g} s is below what the "
                f"fleet can detect ({probe_text(probe)}), so no run could meet it; raise the "
                "limit or shorten the probe"
            )
    return problems
