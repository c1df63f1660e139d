"""Per-VM calls through the SDK, each bounded by a deadline and translated to our errors.

Every long-running operation waits with `poller.result(timeout=...)` and then checks that the
poller is done (the SDK returns silently on timeout); every poll of a VM's state is bounded in
time. Flexible sets have no batch power operations, so each call names one VM; a fault on many
VMs sends each call without polling its operation (`wait=False`) and then confirms them all
together (`wait_power_states`: one listing of the set per round instead of one read per VM per
poll, which at 333 VMs costs more of Resource Manager's reads than the probes can spare).
azure.core's exceptions become flexchaos's (fleet/azure_errors.py): NotFound, VmGone,
AzureCallFailed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from azure.core.polling import LROPoller
from azure.mgmt.compute import models

from fleet.azure_errors import translated
from fleet.budget import listing_period_s, pace
from fleet.inventory import (
    TRANSITIONAL_POWER_STATES,
    Inventory,
    is_health_extension,
    power_state,
)
from fleet.target import FleetTarget
from flexchaos.errors import AzureCallFailed, BudgetExhausted, NotFound, OperationTimeout, VmGone

EMULATOR_TIMEOUT_S = 60.0
AZURE_TIMEOUT_S = 1800.0
CONFLICT_RETRIES = 5
# Waiting for more VMs than this reads them by one listing of the set per round (at most 20
# pages for Flexible's 1000 VMs), not one instance view each per round.
READ_EACH_UP_TO = 16


def default_timeout(target: FleetTarget) -> float:
    return EMULATOR_TIMEOUT_S if target.endpoint.is_emulator else AZURE_TIMEOUT_S


@dataclass(frozen=True)
class CallTimes:
    """A mutating call: first sent, and accepted (its 2xx answer, after the SDK's retries)."""

    sent: float
    accepted: float


class VmOps:
    """The VM-level calls of one fleet, with one deadline per operation. Each thread's first
    mutating call since `mark()` is kept (`first_call()`): the injector's fault clock."""

    def __init__(self, target: FleetTarget, timeout_s: float | None = None) -> None:
        self.target = target
        self.timeout_s = timeout_s if timeout_s is not None else default_timeout(target)
        self.rg = target.resource_group
        self.run_id: str | None = None  # the injector's run id: names of what the run creates
        self._calls = threading.local()

    def mark(self) -> None:
        self._calls.first = None

    def first_call(self) -> CallTimes | None:
        return getattr(self._calls, "first", None)

    def _sent(self, sent: float) -> None:
        if getattr(self._calls, "first", None) is None:
            self._calls.first = CallTimes(sent, time.time())

    @property
    def vms(self) -> Any:
        return self.target.clients.compute.virtual_machines

    @property
    def exts(self) -> Any:
        return self.target.clients.compute.virtual_machine_extensions

    # --- reads -----------------------------------------------------------------------------
    def power_state(self, vm: str) -> str | None:
        """The VM's power state, or None when the VM no longer exists."""
        pace(self.target, "arm-reads")
        try:
            with translated(f"read the instance view of {vm}"):
                view = self.vms.instance_view(self.rg, vm).as_dict()
        except NotFound:
            return None
        return power_state(view.get("statuses") or [])

    def wait_power_state(
        self, vm: str, wanted: Iterable[str | None], what: str, timeout_s: float | None = None
    ) -> str | None:
        """Poll until the power state is one of `wanted` (None = deleted); bounded in time."""
        targets = set(wanted)
        limit = timeout_s if timeout_s is not None else self.timeout_s
        deadline = time.monotonic() + limit
        state = self.power_state(vm)
        while state not in targets:
            if time.monotonic() >= deadline:
                raise OperationTimeout(
                    f"{vm} is {state or 'gone'} after {limit:.0f} s waiting for {what}; "
                    "check the VM and run `flexchaos rollback` again"
                )
            time.sleep(self.target.poll_interval_s)
            state = self.power_state(vm)
        return state

    def power_states(self, vms: Collection[str]) -> tuple[dict[str, str | None], float]:
        """The power state of each VM (None: no longer exists) and the wall seconds until the
        next look fits the budgets: one instance view each for a few VMs, else one listing of
        the set (skipped, all unknown, when Compute's List VMs budget runs low)."""
        if len(vms) <= READ_EACH_UP_TO:
            return {vm: self.power_state(vm) for vm in vms}, self.target.poll_interval_s
        inventory = Inventory(self.target, paced=True)
        try:
            listed = {i.name: i.power_state for i in inventory.sample().instances}
        except BudgetExhausted:
            listed = None
        pages = max(1, inventory.pages)
        pause = max(self.target.poll_interval_s, listing_period_s(pages) * self.target.time_scale)
        if listed is None:
            return {}, pause
        return {vm: listed.get(vm) for vm in vms}, pause

    def wait_power_states(
        self,
        wanted: Mapping[str, Collection[str | None]],
        timeout_s: float | None = None,
    ) -> tuple[dict[str, str | None], dict[str, str | None]]:
        """Poll many VMs together until each is in one of its wanted states (None = deleted),
        bounded in time: (reached, not reached) with the last state seen of each."""
        limit = timeout_s if timeout_s is not None else self.timeout_s
        deadline = time.monotonic() + limit
        pending = dict(wanted)
        reached: dict[str, str | None] = {}
        last: dict[str, str | None] = {}
        while pending:
            states, pause = self.power_states(list(pending))
            for vm, state in states.items():
                last[vm] = state
                if state in pending[vm]:
                    reached[vm] = state
                    del pending[vm]
            if not pending or time.monotonic() + pause > deadline:
                break
            time.sleep(pause)
        missed = {vm: last.get(vm, "unknown") for vm in pending}
        return reached, missed

    def require_power_states(
        self, wanted: Mapping[str, Collection[str | None]], what: str
    ) -> dict[str, str | None]:
        """`wait_power_states`, raising OperationTimeout naming the VMs that did not get there."""
        reached, missed = self.wait_power_states(wanted)
        if missed:
            shown = ", ".join(f"{vm} {state or 'gone'}" for vm, state in list(missed.items())[:5])
            more = f" and {len(missed) - 5} more" if len(missed) > 5 else ""
            raise OperationTimeout(
                f"{len(missed)} VM(s) not {what} after {self.timeout_s:.0f} s ({shown}{more}); "
                "check the VMs and run `flexchaos rollback`"
            )
        return reached

    def wait_stable(self, vm: str) -> str | None:
        """Wait until no power transition is in progress; returns the state (None = gone)."""
        deadline = time.monotonic() + self.timeout_s
        state = self.power_state(vm)
        while state in TRANSITIONAL_POWER_STATES:
            if time.monotonic() >= deadline:
                raise OperationTimeout(f"{vm} stayed {state} for {self.timeout_s:.0f} s")
            time.sleep(self.target.poll_interval_s)
            state = self.power_state(vm)
        return state

    def extensions(self, vm: str) -> list[dict[str, Any]]:
        with translated(f"list the extensions of {vm}"):
            result = self.exts.list(self.rg, vm).as_dict()
        return list(result.get("value") or [])

    def extension(self, vm: str, name: str) -> dict[str, Any]:
        """One extension resource (wire format); NotFound when it or the VM is not there."""
        with translated(f"read extension {name} of {vm}"):
            return dict(self.exts.get(self.rg, vm, name).as_dict())

    def health_extension(self, vm: str) -> dict[str, Any] | None:
        """The VM's Application Health extension resource (wire format), or None."""
        for ext in self.extensions(vm):
            if is_health_extension((ext.get("properties") or {}).get("type")):
                return ext
        return None

    # --- writes ----------------------------------------------------------------------------
    def finish(self, poller: LROPoller[Any], what: str) -> Any:
        with translated(what):
            result = poller.result(timeout=self.timeout_s)
        if not poller.done():
            raise OperationTimeout(
                f"{what} did not complete within {self.timeout_s:.0f} s; it may still be running"
            )
        return result

    def _retry_conflicts(self, call: Callable[[], Any], vm: str) -> Any:
        """Run a call, waiting out another operation on the VM (409) a bounded number of times."""
        for attempt in range(CONFLICT_RETRIES):
            try:
                return call()
            except NotFound:
                if self.power_state(vm) is None:
                    raise VmGone(f"{vm} no longer exists", status=404) from None
                raise
            except AzureCallFailed as exc:
                if exc.status != 409 or attempt == CONFLICT_RETRIES - 1:
                    raise
                if self.wait_stable(vm) is None:  # the operation in progress deleted it
                    raise VmGone(f"{vm} no longer exists", status=404) from None
                time.sleep(self.target.poll_interval_s)
        return None

    def run(self, begin: Callable[..., LROPoller[Any]], what: str, wait: bool = True) -> Any:
        """Begin a long-running operation and wait for it, both translated. `wait=False`: only
        until the platform accepted it (its 202): the caller confirms the effect itself."""
        pace(self.target, "arm-writes")
        sent = time.time()
        with translated(what):
            poller = begin() if wait else begin(polling=False)  # the initial answer, retried
        self._sent(sent)
        return self.finish(poller, what) if wait else None

    def power_off(self, vm: str, skip_shutdown: bool = False, wait: bool = True) -> None:
        self.run(
            lambda **kw: self.vms.begin_power_off(self.rg, vm, skip_shutdown=skip_shutdown, **kw),
            f"power off {vm}",
            wait,
        )

    def deallocate(self, vm: str, wait: bool = True) -> None:
        begin = self.vms.begin_deallocate
        self.run(lambda **kw: begin(self.rg, vm, **kw), f"deallocate {vm}", wait)

    def start(self, vm: str, wait: bool = True) -> None:
        self._retry_conflicts(
            lambda: self.run(
                lambda **kw: self.vms.begin_start(self.rg, vm, **kw), f"start {vm}", wait
            ),
            vm,
        )

    def restart(self, vm: str) -> None:
        self.run(lambda: self.vms.begin_restart(self.rg, vm), f"restart {vm}")

    def redeploy(self, vm: str) -> None:
        self.run(lambda: self.vms.begin_redeploy(self.rg, vm), f"redeploy {vm}")

    def simulate_eviction(self, vm: str) -> None:
        pace(self.target, "arm-writes")
        sent = time.time()
        with translated(f"simulate the eviction of {vm}"):
            self.vms.simulate_eviction(self.rg, vm)
        self._sent(sent)

    def put_extension(self, vm: str, name: str, location: str, properties: dict[str, Any]) -> None:
        """PUT the whole extension (settings replaced, not merged), waiting for completion."""
        body = models.VirtualMachineExtension({"location": location, "properties": properties})
        self._retry_conflicts(
            lambda: self.run(
                lambda: self.exts.begin_create_or_update(self.rg, vm, name, body),
                f"update extension {name} on {vm}",
            ),
            vm,
        )
