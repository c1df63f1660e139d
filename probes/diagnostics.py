"""Probe diagnostics: what the samplers and Locust could not do during a run.

A failed capacity listing is a gap in the healthy-capacity curve; a traffic tick skipped (every
in-flight slot busy) or a late tick of either sampler thins the samples a figure rests on; an
abnormal Locust exit or a missing total means its per-request log may be incomplete. None of
this changes a figure: the report shows it beside the figures it weakens, so a reviewer can
tell a clean measurement from a lucky one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from probes.sampler import TickStats
from probes.wall_clock import ClockStep
from probes.wall_clock import describe as describe_steps


@dataclass(frozen=True)
class LocustExit:
    """How Locust ended (exit 1 = some requests failed: normal in a chaos run) and its totals."""

    exit_code: int
    normal_exit: bool
    total_requests: int | None  # from Locust's JSON; None when it wrote none
    total_failures: int | None

    def describe(self) -> str:
        how = "normal" if self.normal_exit else "ABNORMAL: its request log may be incomplete"
        if self.total_requests is None:
            return f"exit {self.exit_code} ({how}), no totals written"
        return (
            f"exit {self.exit_code} ({how}), {self.total_requests} requests, "
            f"{self.total_failures} failed"
        )


@dataclass(frozen=True)
class Diagnostics:
    """The samplers' and Locust's own account of a run (`Observation.diagnostics()`)."""

    failed_listings: tuple[tuple[float, str], ...] = ()  # (epoch time, error) per failed tick
    capacity_ticks: TickStats | None = None
    traffic_ticks: TickStats | None = None
    traffic_skipped: int = 0  # probe ticks with every in-flight slot busy: no request made
    locust: LocustExit | None = None  # None: Locust's result was not collected
    routing_ticks: TickStats | None = None  # None: no routing probe (no load balancer named)
    failed_routing_queries: tuple[tuple[float, str], ...] = ()  # (epoch time, error) per tick
    # Resource Manager's answers the SDK retried out of sight (429 and 5xx), (time, status,
    # "METHOD path"): the calls they delayed are stamped when finally answered, so a retry
    # moves no clock; the capacity samples they delayed show as gaps in the evidence.
    retried_answers: tuple[tuple[float, int, str], ...] = ()
    # Steps of the machine's wall clock while the probes ran (probes/wall_clock.py); None: not
    # watched (a timeline read back from disk).
    wall_clock_steps: tuple[ClockStep, ...] | None = None

    def capacity_caveat(self) -> str:
        """What weakens the figures built on capacity samples ("" when nothing)."""
        parts = []
        if self.failed_listings:
            parts.append(_count(len(self.failed_listings), "failed listing"))
        if self.capacity_ticks is not None and self.capacity_ticks.late_ticks:
            parts.append(_count(self.capacity_ticks.late_ticks, "late tick"))
        return ", ".join(parts)

    def traffic_caveat(self) -> str:
        """What weakens the figures built on requests ("" when nothing)."""
        parts = []
        if self.traffic_skipped:
            parts.append(_count(self.traffic_skipped, "probe tick") + " skipped")
        if self.traffic_ticks is not None and self.traffic_ticks.late_ticks:
            parts.append(_count(self.traffic_ticks.late_ticks, "late probe tick"))
        if self.locust is not None and not self.locust.normal_exit:
            parts.append(f"Locust exit {self.locust.exit_code}")
        return ", ".join(parts)

    def notes(self) -> dict[str, str]:
        """One line per source, for the report's sampling-resolution attachment."""
        listings = "no listing failed"
        if self.failed_listings:
            first_time, first_error = self.failed_listings[0]
            listings = (
                f"{_count(len(self.failed_listings), 'listing')} failed; first at "
                f"{_utc(first_time)}: {first_error}"
            )
        capacity = _ticks(self.capacity_ticks)
        traffic = _ticks(self.traffic_ticks)
        traffic += f", {self.traffic_skipped} skipped (every in-flight slot busy)"
        notes = {
            "capacity probe": f"{capacity}; {listings}",
            "traffic probe": traffic,
            "Locust": self.locust.describe() if self.locust is not None else "not collected",
        }
        if self.routing_ticks is not None:
            failed = self.failed_routing_queries
            queries = "no health query failed"
            if failed:
                what = "query" if len(failed) == 1 else "queries"
                queries = f"{len(failed)} health {what} failed; first: {failed[0][1]}"
            notes["routing probe"] = f"{_ticks(self.routing_ticks)}; {queries}"
        notes["control plane"] = self.retries_note()
        if self.wall_clock_steps is not None:
            notes["wall clock"] = describe_steps(self.wall_clock_steps)
        return notes

    def retries_note(self) -> str:
        if not self.retried_answers:
            return "no answer retried (no 429, no 5xx)"
        throttled = sum(1 for _, status, _ in self.retried_answers if status == 429)
        first = self.retried_answers[0]
        return (
            f"{_count(len(self.retried_answers), 'answer')} retried by the SDK ({throttled} "
            f"throttled 429, {len(self.retried_answers) - throttled} 5xx); first at "
            f"{_utc(first[0])}: {first[1]} for {first[2]}"
        )


def _ticks(stats: TickStats | None) -> str:
    if stats is None:
        return "not run"
    return f"{stats.ticks} ticks every {stats.interval_s * 1000:.0f} ms, {stats.late_ticks} late"


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def _utc(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%H:%M:%S.%f")[:-3] + "Z"
