"""The load balancer's health status per load-balancing rule (docs/azure-behaviour.md §4.1):
Azure's `POST …/loadBalancingRules/{rule}/health` is a long-running operation whose result
lists each backend with its state and reason. Here: that result as plain data, and the
operations that carry it (Microsoft.Network's, kept apart from Compute's).

The emulator reads the status from its load balancer's probes at once, so a health query is
finished when it is accepted; the answer still goes through the operation's Location, as
Azure's does. Only the newest `MAX_KEPT` queries are kept: a harness asks every few seconds.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from emulator.models.operations import Operation

MAX_KEPT = 1000
OPERATION_NAME = "loadBalancingRules.health"


@dataclass(frozen=True)
class BackendHealth:
    """One backend of the rule: its VM, address, whether its probe is up, and the reason code
    (None when the VM is not probed at all: Azure then returns empty values)."""

    vm: str
    address: str
    up: bool
    reason: str | None


@dataclass(frozen=True)
class RuleHealth:
    """The health of one rule's backends when the query was accepted."""

    rule_id: str
    time: float
    backends: tuple[BackendHealth, ...]


class NetworkOperations:
    """Microsoft.Network's long-running operations (rule-health queries), newest kept."""

    def __init__(self, max_kept: int = MAX_KEPT) -> None:
        self.max_kept = max_kept
        self._operations: OrderedDict[str, Operation] = OrderedDict()

    def health_query(self, rule_id: str, backends: tuple[BackendHealth, ...]) -> Operation:
        """A finished operation whose result is the rule's health now."""
        op = Operation(OPERATION_NAME, rule_id, vm=None, expected_wall_duration=0.0)
        op.output = RuleHealth(rule_id, time.time(), backends)
        op.finish()
        self._operations[op.id] = op
        while len(self._operations) > self.max_kept:
            self._operations.popitem(last=False)
        return op

    def get(self, operation_id: str) -> Operation | None:
        return self._operations.get(operation_id)
