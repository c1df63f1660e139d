"""What an experiment watches while it runs: Locust's users, the traffic probe, the capacity
probe and the live progress line — started together, stopped together, merged into a timeline.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pandas as pd

from flexchaos.progress import Progress, RequestLogTail
from load.runner import LoadPlan, LoadResult, LoadRun
from probes.capacity import CapacityProbe, InstanceState
from probes.diagnostics import Diagnostics, LocustExit
from probes.timeline import Timeline, load_requests
from probes.traffic import TrafficProbe

PROBE_RATE_HZ = 50.0
# Three inventory listings per load-balancer probe interval: capacity is judged only with a
# sample at least once per interval (probes/evidence.py), and one failed listing must not break
# that. Never faster than MIN_CAPACITY_TICK_S wall (at the emulator's 0.05, 5 s → 83 ms).
CAPACITY_TICKS_PER_PROBE_INTERVAL = 3
MIN_CAPACITY_TICK_S = 0.05
LOCUST_SLACK_S = 60.0  # wall seconds Locust may run past the experiment's own budget
FIRST_REQUEST_TIMEOUT_S = 60.0


class Observation:
    """Load and probes for one experiment; use as a context manager."""

    def __init__(
        self,
        *,
        name: str,
        lb_url: str,
        instances: Callable[[], Iterable[InstanceState]],
        capacity_tick_s: float,
        users: int,
        rps_per_user: float,
        max_run_time_s: float,
        work_dir: Path,
        time_scale: float,
        write: Callable[[str], None],
    ) -> None:
        probe_limit_s = max_run_time_s + LOCUST_SLACK_S  # the probes outlive no experiment
        self.capacity = CapacityProbe(
            instances, tick_s=capacity_tick_s, max_duration_s=probe_limit_s
        )
        self.traffic = TrafficProbe(lb_url, rate_hz=PROBE_RATE_HZ, max_duration_s=probe_limit_s)
        self.load = LoadRun(
            LoadPlan(
                host=lb_url,
                users=users,
                spawn_rate=float(users),
                run_time_s=max_run_time_s + LOCUST_SLACK_S,
                env={"FLEXCHAOS_RPS_PER_USER": str(rps_per_user)},
            ),
            work_dir / "locust",
        )
        self.progress = Progress(
            name, write, RequestLogTail(self.load.request_logs),
            self.capacity.frame, self.traffic.frame, time_scale,
        )  # fmt: skip
        self.load_result: LoadResult | None = None
        self._stack = ExitStack()

    @property
    def tick_s(self) -> float:
        return self.capacity.tick_s

    def __enter__(self) -> Observation:
        with ExitStack() as stack:
            # The samplers keep a schedule of a fraction of a probe interval (83 ms wall on the
            # emulator), and a full garbage collection over the process's long-lived objects
            # (pandas, the Azure SDK: ~1M) stalls every thread for 100-250 ms: a gap in the
            # samples, which leaves a figure not judged. Frozen, they are no longer scanned.
            gc.collect()
            gc.freeze()
            stack.callback(gc.unfreeze)
            self.load.start()
            stack.callback(self._stop_load)
            self.load.wait_for_first_requests(timeout=FIRST_REQUEST_TIMEOUT_S)
            self.capacity.start()
            stack.callback(self.capacity.stop)
            self.traffic.start()
            stack.callback(self.traffic.stop)
            self.progress.start()
            stack.callback(self.progress.stop)
            self._stack = stack.pop_all()  # started: stopped on __exit__, in reverse order
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _stop_load(self) -> None:
        self.load_result = self.load.stop()

    def requests(self) -> pd.DataFrame:
        """Every request so far, Locust's and the probe's, on one clock."""
        frames = [load_requests(self.load.request_logs()), self.traffic.frame()]
        present = [f for f in frames if not f.empty]
        return pd.concat(present, ignore_index=True) if present else frames[1]

    def healthy_since(self, since: float) -> int | None:
        """Healthy instances in the latest capacity sample if it was taken at/after `since`;
        None (unknown — never healthy) when none was: a failed listing leaves only an older
        sample, which may predate the fault."""
        frame = self.capacity.frame()
        if frame.empty or float(frame["time"].max()) < since:
            return None
        return int(frame.loc[frame["time"] == frame["time"].max(), "healthy"].sum())

    def diagnostics(self) -> Diagnostics:
        """The probes' and Locust's account of the run: failed listings, skipped and late ticks,
        Locust's exit and totals (known once the observation has stopped)."""
        result = self.load_result
        return Diagnostics(
            failed_listings=tuple(self.capacity.failed_listings()),
            capacity_ticks=self.capacity.tick_stats(),
            traffic_ticks=self.traffic.tick_stats(),
            traffic_skipped=self.traffic.skipped,
            locust=None
            if result is None
            else LocustExit(
                result.exit_code, result.normal_exit, result.total_requests, result.total_failures
            ),
        )

    def timeline(self, events: Sequence[Mapping[str, Any]]) -> Timeline:
        return Timeline.build(
            requests=self.requests(), capacity=self.capacity.frame(), events=events
        )


def capacity_tick(probe_interval_wall_s: float) -> float:
    """Wall seconds between capacity listings for a load-balancer probe interval (wall)."""
    return max(MIN_CAPACITY_TICK_S, probe_interval_wall_s / CAPACITY_TICKS_PER_PROBE_INTERVAL)
