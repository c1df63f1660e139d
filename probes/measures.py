"""The vocabulary of measures: every figure a run reports, declared once, and the one clock
conversion between the harness's wall seconds and the platform's seconds.

A `Measure` says what a figure is called (in `Metrics.as_measurements()`, `verdict.json`, the
trend), its unit, whether it is a platform duration (measured in wall seconds, judged in
platform seconds), its valid range, and — when a target bounds it — which way and under which
key of `experiments/targets.toml`. The probes fill the values, the reports read them: neither
spells a metric name by hand.

`Clock(time_scale)` is the emulator's clock contract, `wall = platform × time_scale` (1.0 on
Azure). Every duration converted between the two goes through it.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, replace
from typing import Literal

Bound = Literal["min", "max"]
WHOLE_RUN = "overall"  # `Measure.in_phase(WHOLE_RUN)`: the figure over the whole run
IN_FAULT_WINDOW = ", in the fault window"  # the scope of the request figures that are targets


@dataclass(frozen=True)
class Clock:
    """Wall ↔ platform seconds: wall = platform × time_scale (1.0 on Azure, < 1 on the emulator,
    whose minutes pass faster)."""

    time_scale: float = 1.0

    def __post_init__(self) -> None:
        scale = self.time_scale
        if (
            isinstance(scale, bool)
            or not isinstance(scale, numbers.Real)
            or not (math.isfinite(scale) and scale > 0)
        ):
            raise ValueError(f"time_scale must be a positive finite number, got {scale!r}")
        object.__setattr__(self, "time_scale", float(scale))

    def platform(self, wall_s: float) -> float:
        """Platform seconds for a wall duration (or a wall offset)."""
        return wall_s / self.time_scale

    def wall(self, platform_s: float) -> float:
        """Wall seconds for a platform duration."""
        return platform_s * self.time_scale

    @property
    def scaled(self) -> bool:
        """True when platform seconds differ from wall seconds (the emulator's fast clock)."""
        return self.time_scale != 1.0


@dataclass(frozen=True)
class Measure:
    """One figure of a run: its name, unit, clock, valid range and (optionally) its target."""

    name: str
    unit: Literal["", "s", "ms"]
    description: str
    platform_time: bool = False  # a platform duration: measured in wall s, judged in platform s
    low: float = 0.0
    high: float = math.inf
    bound: Bound | None = None  # a target keeps the value above ("min") or below ("max") a limit
    target: str | None = None  # that target's key in targets.toml

    def __post_init__(self) -> None:
        if (self.bound is None) != (self.target is None):
            raise ValueError(f"measure {self.name}: a target needs both a bound and a key")

    def on_platform(self, value: float, clock: Clock) -> float:
        """The value in the unit targets use: platform seconds for a platform duration; ratios
        and latencies (real network time) unchanged."""
        return clock.platform(value) if self.platform_time else value

    def in_phase(self, phase: str) -> Measure:
        """The same figure over one phase of the run (e.g. `error_rate_fault`), or over the whole
        run (`WHOLE_RUN`: e.g. `error_rate_overall`); never a target."""
        scope = "over the whole run" if phase == WHOLE_RUN else f"{phase} phase"
        return replace(
            self,
            name=f"{self.name}_{phase}",
            description=f"{self.description.removesuffix(IN_FAULT_WINDOW)}, {scope}",
            bound=None,
            target=None,
        )

    @property
    def comparison(self) -> str:
        return ">=" if self.bound == "min" else "<="

    @property
    def range_text(self) -> str:
        return f"{self.low:g}..{self.high:g}" if math.isfinite(self.high) else f">= {self.low:g}"


HEALTHY_CAPACITY = Measure(
    "min_healthy_capacity", "",
    "lowest share of the baseline instances running and healthy, per capacity tick",
    high=1.0, bound="min", target="min_healthy_capacity",
)  # fmt: skip
FAILOVER_TIME = Measure(
    "failover_time_s", "s",
    "injection to the last failed request of the last disruption within hold and recovery",
    platform_time=True, bound="max", target="max_failover_time_s",
)  # fmt: skip
STATE_TIME = Measure(
    "state_time_s", "s",
    "call accepted to the first capacity sample showing the target VM out of running, "
    "unhealthy or gone (the slowest target VM)",
    platform_time=True,
)  # fmt: skip
DETECTION_TIME = Measure(
    "detection_time_s", "s",
    "call accepted to the load balancer no longer routing new flows to the target VM "
    "(the slowest target VM)",
    platform_time=True, bound="max", target="max_detection_time_s",
)  # fmt: skip
# The request figures are judged on the fault window (injection → healthy capacity back, or the
# end of the observation): over the whole run, a fault's errors are diluted by the healthy
# minutes around it. `in_phase(WHOLE_RUN)` names the whole-run figures, which are no target.
ERROR_RATE = Measure(
    "error_rate", "", "failed ÷ total requests (Locust and probe)" + IN_FAULT_WINDOW,
    high=1.0, bound="max", target="max_error_rate",
)  # fmt: skip
P50_LATENCY = Measure(
    "p50_latency_ms", "ms", "median request latency, failed requests included" + IN_FAULT_WINDOW
)
P95_LATENCY = Measure(
    "p95_latency_ms", "ms",
    "95th percentile of request latency, failed requests included" + IN_FAULT_WINDOW,
    bound="max", target="max_p95_latency_ms",
)  # fmt: skip
P99_LATENCY = Measure(
    "p99_latency_ms", "ms",
    "99th percentile of request latency, failed requests included" + IN_FAULT_WINDOW,
)  # fmt: skip
LATENCY: dict[int, Measure] = {50: P50_LATENCY, 95: P95_LATENCY, 99: P99_LATENCY}
RECOVERY_TIME = Measure(
    "recovery_time_s", "s",
    "revert (or injection, when the platform heals) to healthy capacity back at baseline",
    platform_time=True, bound="max", target="max_recovery_time_s",
)  # fmt: skip
SERVING_CAPACITY = Measure(
    "min_serving_capacity", "",
    "lowest share of the baseline instances answering in a trailing window, from traffic alone",
    high=1.0,
)  # fmt: skip

# In the order verdict tables list their targets.
MEASURES: tuple[Measure, ...] = (
    HEALTHY_CAPACITY,
    STATE_TIME,
    DETECTION_TIME,
    FAILOVER_TIME,
    ERROR_RATE,
    *LATENCY.values(),
    RECOVERY_TIME,
    SERVING_CAPACITY,
)
TARGETED: tuple[Measure, ...] = tuple(m for m in MEASURES if m.target is not None)
