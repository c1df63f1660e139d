"""The emulator's clock: Azure's durations in platform seconds, compressed by a time scale.

wall seconds = platform seconds x time_scale. A 10-minute repair grace period at the default
scale of 0.05 passes in 30 wall seconds. Every timestamp the emulator reports is wall-clock epoch
seconds (time.time()), the one clock the harness also uses.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

DEFAULT_TIME_SCALE = 0.05


@dataclass(frozen=True)
class Clock:
    """Converts platform durations to wall durations and sleeps for them."""

    time_scale: float = DEFAULT_TIME_SCALE

    def __post_init__(self) -> None:
        if not 0 < self.time_scale <= 1:
            raise ValueError(f"time scale must be in (0, 1], got {self.time_scale}")

    def now(self) -> float:
        """Wall-clock epoch seconds, shared with the harness."""
        return time.time()

    def wall(self, platform_seconds: float) -> float:
        """How many wall seconds a platform duration lasts."""
        return platform_seconds * self.time_scale

    def platform(self, wall_seconds: float) -> float:
        """How many platform seconds a wall duration stands for."""
        return wall_seconds / self.time_scale

    async def sleep(self, platform_seconds: float) -> None:
        """Sleep for a platform duration (scaled to wall time)."""
        await asyncio.sleep(max(0.0, self.wall(platform_seconds)))
