"""Routing probe: which instances the load balancer sends new flows to, on a fixed tick, as
timeline rows (time, instance, state "up" | "down", reason).

The source is any callable returning backends with .instance, .routed and .reason —
`fleet.load_balancer.LoadBalancerRouting(target).backends` in the harness (one health query of
the load balancer's rule per tick). Like the capacity probe, a failing query is counted and
skipped, never fatal. An instance the load balancer stops listing (a deleted VM) simply has no
row from then on; probes/phases.py reads that as "no longer routed".
"""

from __future__ import annotations

from typing import Any, Protocol

from probes.table_probe import TableProbe
from probes.timeline import ROUTING_COLUMNS


class BackendState(Protocol):
    @property
    def instance(self) -> str: ...

    @property
    def routed(self) -> bool: ...

    @property
    def reason(self) -> str | None: ...


class RoutingProbe(TableProbe[BackendState]):
    """One health query of the load balancer's rule per tick: a row per backend."""

    name = "routing-probe"
    columns = ROUTING_COLUMNS

    def row(self, item: BackendState, now: float) -> dict[str, Any]:
        return {
            "time": now,
            "instance": item.instance,
            "state": "up" if item.routed else "down",
            "reason": item.reason,
        }

    def failed_queries(self) -> list[tuple[float, str]]:
        """(time, error) of each tick whose query failed (a gap in the routing table)."""
        return self.failures()
