"""What an experiment watches while it runs: Locust's users, the traffic probe, the capacity
probe and the live progress line — started together, stopped together, merged into a timeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pandas as pd

from fleet.faults import Seen
from flexchaos.progress import Progress, RequestLogTail
from load.runner import LoadPlan, LoadResult, LoadRun
from probes.capacity import CapacityProbe, InstanceState
from probes.diagnostics import Diagnostics, LocustExit
from probes.timeline import Timeline, load_requests
from probes.traffic import TrafficProbe

PROBE_RATE_HZ = 50.0
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

    def seen(self, baseline: set[str]) -> list[Seen]:
        """The capacity samples as the faults read them: each VM's state per sample, and
        "deleted" for a VM of the baseline that a sample no longer lists."""
        frame = self.capacity.frame()
        seen: list[Seen] = []
        for when, sample in frame.groupby("time", sort=True):
            listed = set(sample["instance"])
            seen += [
                Seen(float(when), str(row.instance), str(row.power_state), _text(row.health_state))
                for row in sample.itertuples(index=False)
            ]
            seen += [Seen(float(when), vm, "deleted", None) for vm in sorted(baseline - listed)]
        return seen

    def timeline(self, events: Sequence[Mapping[str, Any]]) -> Timeline:
        return Timeline.build(
            requests=self.requests(), capacity=self.capacity.frame(), events=events
        )


def _text(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)  # type: ignore[arg-type]
