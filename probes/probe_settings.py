"""The load balancer's health-probe settings: the time scale of everything failover means.

A layer-4 load balancer keeps sending new flows to a dead backend until its probe has failed
`threshold` times, `interval_s` apart: interval × threshold (platform seconds) is the longest
stretch of misrouting the design allows. The figures use it twice. A run of failed requests
ends only after that long without a failure (a shorter quiet window could close a disruption
while the balancer was still sending flows to the dead backend), and the evidence behind a
figure is measured against one probe interval: a capacity sample at least once per interval, and
enough new flows to each target VM per interval to see the interval at all.

The settings come from the evidence snapshot's load balancer (`properties.probes[0]`, as ARM
serves it); Azure's defaults (5 s, 1 probe) apply when the snapshot has none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from probes.measures import Clock

AZURE_DEFAULT_INTERVAL_S = 5.0  # docs/azure-behaviour.md §4
AZURE_DEFAULT_THRESHOLD = 1


@dataclass(frozen=True)
class ProbeSettings:
    """Probe interval (platform seconds) and how many failed probes take a backend out."""

    interval_s: float = AZURE_DEFAULT_INTERVAL_S
    threshold: int = AZURE_DEFAULT_THRESHOLD
    source: str = "Azure's defaults"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.interval_s) and self.interval_s > 0) or self.threshold < 1:
            raise ValueError(
                f"probe interval must be > 0 s and threshold >= 1, got {self.interval_s!r} "
                f"and {self.threshold!r}"
            )

    @property
    def quiet_window_s(self) -> float:
        """Platform seconds without a failure that end a disruption: interval × threshold."""
        return self.interval_s * self.threshold

    def wall_interval(self, clock: Clock) -> float:
        return clock.wall(self.interval_s)

    def wall_quiet_window(self, clock: Clock) -> float:
        return clock.wall(self.quiet_window_s)

    def describe(self) -> str:
        return (
            f"probe every {self.interval_s:g} s, {self.threshold} failed to mark down "
            f"({self.source})"
        )

    @classmethod
    def from_evidence(cls, snapshot: Mapping[str, Any] | None) -> ProbeSettings:
        """From an evidence snapshot (`fleet.evidence.snapshot`): its load balancer's probe."""
        return cls.from_load_balancer((snapshot or {}).get("load_balancer"))

    @classmethod
    def from_load_balancer(cls, load_balancer: Mapping[str, Any] | None) -> ProbeSettings:
        """From a load balancer as `fleet.evidence.snapshot` stores it (ARM's wire shape; the
        SDK's flattened snake_case shape is read too). No probe: Azure's defaults."""
        probes = _probes(load_balancer)
        if not probes:
            return cls()
        first = probes[0] if isinstance(probes[0], Mapping) else {}
        props = first.get("properties") if isinstance(first.get("properties"), Mapping) else first
        interval = _positive(props, "intervalInSeconds", "interval_in_seconds")
        threshold = _positive(props, "probeThreshold", "probe_threshold") or _positive(
            props, "numberOfProbes", "number_of_probes"
        )
        name = first.get("name") or "probes[0]"
        return cls(
            interval_s=interval or AZURE_DEFAULT_INTERVAL_S,
            threshold=int(threshold or AZURE_DEFAULT_THRESHOLD),
            source=f"load balancer probe {name}"
            + ("" if interval and threshold else ", Azure's defaults where unset"),
        )


def _probes(load_balancer: Mapping[str, Any] | None) -> list[Any]:
    if not isinstance(load_balancer, Mapping):
        return []
    props = load_balancer.get("properties")
    probes = props.get("probes") if isinstance(props, Mapping) else None
    if probes is None:
        probes = load_balancer.get("probes")
    return list(probes) if isinstance(probes, list) else []


def _positive(props: Mapping[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = props.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return float(value)
    return None
