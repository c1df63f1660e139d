"""One member of the load balancer's backend pool: a VM's address, its probe state, whether it
can answer at all, and its relay counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.dataplane import probe_reasons
from emulator.dataplane.lb_probe import BackendProbe


@dataclass(eq=False)
class Backend:
    """One pool member: a VM's address, its probe state and its relay counters."""

    vm: str
    host: str
    port: int
    up: bool = False
    blackholed: bool = False  # the VM cannot answer: new flows get no answer at all
    relays: int = 0  # flows assigned to this backend
    failed_relays: int = 0  # of those: connect failed, reset, or closed by the backend unanswered
    probe: BackendProbe | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return self.host

    @property
    def reason(self) -> str | None:
        """Azure's health-status reason code for the state; None: not probed (the VM is off)."""
        if self.probe is None:
            return probe_reasons.UP_SUCCESS  # no probe: always in rotation
        return self.probe.reason

    def to_json(self) -> dict[str, Any]:
        return {
            "vm": self.vm,
            "address": self.host,
            "port": self.port,
            "state": "up" if self.up else "down",
            "reason": self.reason,
            "blackholed": self.blackholed,
            "relays": self.relays,
            "failed_relays": self.failed_relays,
        }
