"""What an experiment watches while it runs: Locust's users, the traffic probe, the capacity
probe, the routing probe (when the fleet names a load balancer) and the live progress line —
started together, stopped together, merged into a timeline.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pandas as pd

from fleet.budget import listing_period_s
from fleet.faults import Seen
from fleet.inventory import Inventory
from fleet.load_balancer import LoadBalancerRouting
from fleet.target import FleetTarget
from flexchaos.progress import Progress, RequestLogTail
from flexchaos.request_timeouts import locust_timeout, probe_timeout
from load.env import TIMEOUT_ENV
from load.registry import LoadRegistry
from load.runner import LoadPlan, LoadResult, LoadRun
from probes.capacity import CapacityProbe, InstanceState
from probes.diagnostics import Diagnostics, LocustExit
from probes.routing import BackendState, RoutingProbe
from probes.timeline import Timeline, load_requests
from probes.traffic import TrafficProbe
from probes.wall_clock import WallClockWatch

PROBE_RATE_HZ = 50.0
# Three inventory listings per load-balancer probe interval: capacity is judged only with a
# sample at least once per interval (probes/evidence.py), and one failed listing must not break
# that. Never faster than MIN_CAPACITY_TICK_S wall (at the emulator's 0.05, 5 s → 83 ms).
CAPACITY_TICKS_PER_PROBE_INTERVAL = 3
MIN_CAPACITY_TICK_S = 0.05
LOCUST_SLACK_S = 60.0  # wall seconds Locust may run past the experiment's own budget
FIRST_REQUEST_TIMEOUT_S = 60.0
FIRST_SAMPLE_TIMEOUT_S = 30.0  # wall seconds the steady-state check waits for a first listing
# The routing probe reads the load balancer's per-backend health once a platform second (never
# slower than the capacity tick): one POST and two GETs per query (fleet/load_balancer.py), well
# inside ARM's subscription buckets (writes refill 10/s, reads 25/s). On the emulator's fast
# clock it is bounded below in wall time.
ROUTING_TICK_PLATFORM_S = 1.0
MIN_ROUTING_TICK_S = 0.05


def routing_source(target: FleetTarget) -> Callable[[], Iterable[BackendState]] | None:
    """The load balancer's per-backend health, when the target names a load balancer."""
    return LoadBalancerRouting(target).backends if target.load_balancer else None


class Observation:
    """Load and probes for one experiment; use as a context manager.

    `target`: the fleet watched — its VM listing feeds the capacity probe (unless `instances` is
    given) and, when it names a load balancer, its per-backend health feeds the routing probe
    (unless `routing` is given). Locust writes under `work_dir/locust/<run>/` (the registry's
    run), so a run reads only its own request logs (never those of a killed run's load
    generator), and its processes go into the registry, so that `flexchaos rollback` can stop
    any a killed run left behind."""

    def __init__(
        self,
        *,
        name: str,
        lb_url: str,
        instances: Callable[[], Iterable[InstanceState]] | None = None,
        capacity_tick_s: float,
        listing_pages: int = 1,
        users: int,
        rps_per_user: float,
        max_run_time_s: float,
        work_dir: Path,
        time_scale: float,
        write: Callable[[str], None],
        routing: Callable[[], Iterable[BackendState]] | None = None,
        target: FleetTarget | None = None,
        registry: LoadRegistry | None = None,
    ) -> None:
        self._call_log = None if target is None else target.clients.call_log
        # A listing on demand (the recovery wait) doubles the probe's rate at most: only when
        # that still fits Compute's List VMs budget (fleet/budget.py).
        listing_wall = listing_period_s(listing_pages) * time_scale
        self._sample_on_demand = 2 * listing_wall <= capacity_tick_s
        self._started = time.time()
        if target is not None:
            instances = instances or Inventory(target, paced=True).instances
            routing = routing or routing_source(target)
        if instances is None:
            raise ValueError("Observation needs the fleet's target or an instances source")
        probe_limit_s = max_run_time_s + LOCUST_SLACK_S  # the probes outlive no experiment
        self.capacity = CapacityProbe(
            instances, tick_s=capacity_tick_s, max_duration_s=probe_limit_s
        )
        routing_tick_s = max(
            MIN_ROUTING_TICK_S, min(capacity_tick_s, time_scale * ROUTING_TICK_PLATFORM_S)
        )
        self.routing = (
            None
            if routing is None
            else RoutingProbe(routing, tick_s=routing_tick_s, max_duration_s=probe_limit_s)
        )
        # a step of the wall clock moves every time stamp after it: probes/wall_clock.py
        self.wall_clock = WallClockWatch(max_duration_s=probe_limit_s)
        # the timeouts bound every black-holed request's latency: flexchaos/request_timeouts.py
        self.traffic = TrafficProbe(
            lb_url,
            rate_hz=PROBE_RATE_HZ,
            timeout_s=probe_timeout(time_scale),
            max_duration_s=probe_limit_s,
        )
        self.load = LoadRun(
            LoadPlan(
                host=lb_url,
                users=users,
                spawn_rate=float(users),
                run_time_s=max_run_time_s + LOCUST_SLACK_S,
                env={
                    "FLEXCHAOS_RPS_PER_USER": str(rps_per_user),
                    TIMEOUT_ENV: f"{locust_timeout(time_scale):g}",
                },
            ),
            work_dir / "locust" / (registry.run if registry is not None else "run"),
        )
        self.registry = registry
        self.progress = Progress(
            name, write, RequestLogTail(self.load.request_logs),
            self.capacity.latest, self.traffic.frame, time_scale,
        )  # fmt: skip
        self.load_result: LoadResult | None = None
        self.progress_write = write
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
            self.wall_clock.start()
            stack.callback(self.wall_clock.stop)
            self.load.start()
            stack.callback(self._stop_load)
            self._register(lambda registry: registry.record_started(self.load.processes()))
            self.load.wait_for_first_requests(timeout=FIRST_REQUEST_TIMEOUT_S)
            self.capacity.start()
            stack.callback(self.capacity.stop)
            if self.routing is not None:
                self.routing.start()
                stack.callback(self.routing.stop)
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
        self._register(lambda registry: registry.record_stopped())

    def _register(self, note: Callable[[LoadRegistry], None]) -> None:
        """Record in the registry; a registry that cannot be written is said, not fatal (Locust
        still dies with the harness by its parent-death signal)."""
        if self.registry is None:
            return
        try:
            note(self.registry)
        except OSError as exc:
            self.progress_write(
                f"  load generators not recorded in {self.registry.path} ({exc.strerror}); "
                "`flexchaos rollback` cannot stop them if this run is killed"
            )

    def requests(self) -> pd.DataFrame:
        """Every request so far, Locust's and the probe's, on one clock."""
        frames = [load_requests(self.load.request_logs()), self.traffic.frame()]
        present = [f for f in frames if not f.empty]
        return pd.concat(present, ignore_index=True) if present else frames[1]

    def healthy_since(self, since: float) -> int | None:
        """Healthy instances in the latest capacity sample if it was taken at/after `since`;
        None (unknown — never healthy) when none was: a failed listing leaves only an older
        sample, which may predate the fault."""
        latest = self.capacity.latest()
        if latest.empty or float(latest["time"].max()) < since:
            return None
        return int(latest["healthy"].sum())

    def capacity_frame(self) -> pd.DataFrame:
        """The capacity samples so far; when there is none yet, wait (bounded) for the probe's
        first listing, which may still be in flight — retried after 429s, or slow on a loaded
        machine — rather than call the steady state broken for want of it."""
        deadline = time.monotonic() + FIRST_SAMPLE_TIMEOUT_S
        frame = self.capacity.frame()
        while frame.empty and time.monotonic() < deadline and self.capacity.running:
            time.sleep(self.capacity.tick_s)
            frame = self.capacity.frame()
        return frame

    def healthy_now(self, since: float) -> int | None:
        """`healthy_since(since)` after one listing now, when the budget allows one on demand;
        otherwise from the probe's own samples."""
        if self._sample_on_demand:
            self.capacity.sample()
        return self.healthy_since(since)

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
            routing_ticks=None if self.routing is None else self.routing.tick_stats(),
            wall_clock_steps=self.wall_clock.steps,
            failed_routing_queries=()
            if self.routing is None
            else tuple(self.routing.failed_queries()),
            retried_answers=()
            if self._call_log is None
            else tuple(
                (r.time, r.status, f"{r.method} {r.path.rsplit('/providers/', 1)[-1]}")
                for r in self._call_log.retried_since(self._started)
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
            requests=self.requests(),
            capacity=self.capacity.frame(),
            events=events,
            routing=None if self.routing is None else self.routing.frame(),
        )


def _text(value: object) -> str | None:
    return None if value is None or pd.isna(value) else str(value)  # type: ignore[arg-type]


def capacity_tick(
    probe_interval_wall_s: float, listing_pages: int = 1, time_scale: float = 1.0
) -> float:
    """Wall seconds between capacity listings for a load-balancer probe interval (wall), never
    faster than Compute's List VMs budget allows a listing of `listing_pages` pages
    (fleet/budget.py: the 20 pages of a 1000-VM set, once per probe interval)."""
    per_interval = probe_interval_wall_s / CAPACITY_TICKS_PER_PROBE_INTERVAL
    listing = listing_period_s(listing_pages) * time_scale
    return max(MIN_CAPACITY_TICK_S, per_interval, listing)
