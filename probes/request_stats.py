"""The request figures of one stretch of a run: how many requests, how many failed, the error
rate and the latency percentiles — for a phase, the fault window or the whole run.

Counts are kept beside the rate so that a report never shows a rate rounded to zero while
requests failed: `failed_text` says "4 of 9,812 failed (0.04 %)".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from probes.measures import ERROR_RATE, LATENCY, Measure

PERCENTILES = tuple(LATENCY)  # 50, 95, 99


@dataclass(frozen=True)
class PhaseStats:
    """Requests of one stretch (a phase, the fault window, the whole run) and their figures."""

    name: str
    requests: int
    failures: int
    error_rate: float | None
    latency_ms: dict[int, float | None]


def phase_stats(name: str, requests: pd.DataFrame) -> PhaseStats:
    total = len(requests)
    failures = int((~requests["ok"]).sum()) if total else 0
    latency = requests["latency_ms"].to_numpy(dtype=float)
    return PhaseStats(
        name=name,
        requests=total,
        failures=failures,
        error_rate=failures / total if total else None,
        latency_ms={p: float(np.percentile(latency, p)) if total else None for p in PERCENTILES},
    )


def request_values(stats: PhaseStats | None) -> dict[Measure, float | None]:
    """The request figures of one stretch: error rate and latency percentiles (None: no
    stretch, or no request in it)."""
    return {
        ERROR_RATE: None if stats is None else stats.error_rate,
        **{m: None if stats is None else stats.latency_ms[p] for p, m in LATENCY.items()},
    }


def failed_text(failures: int, requests: int) -> str:
    """'4 of 9,812 failed (0.04 %)': a share of failures that never rounds a count to zero."""
    percent = 100.0 * failures / requests if requests else 0.0
    if failures == 0 or percent >= 10:
        shown = f"{percent:.1f}".removesuffix(".0")
    elif percent >= 0.01:
        shown = f"{percent:.2f}"
    else:
        shown = f"{percent:.1g}"
    return f"{failures:,} of {requests:,} failed ({shown} %)"
