"""Azure's request budgets in the emulator, and the harness reading them: Compute's per-VM
bucket answers 429 with Azure's body and headers once spent, other VMs are untouched, the SDK
waits out Retry-After, the harness's call log reads the budgets left and the paced listing
skips (a gap, never a 429) when they run low; the topology can switch throttling off."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from azure.core.exceptions import HttpResponseError

from emulator.launcher import RunningEmulator
from fleet.budget import pace
from fleet.call_log import parse_remaining
from fleet.inventory import Inventory
from fleet.load_balancer import LoadBalancerRouting
from fleet.target import FleetTarget
from flexchaos.errors import BudgetExhausted

PER_VM_BUCKET = 36  # LowCostGetVM: 12 a minute, a bucket of 36 (compute-throttling-limits)
# A slow clock: the per-VM bucket refills 12 a platform minute = one token per 50 wall s, so
# reading 40 times in a row cannot be rescued by the refill, however loaded the machine is.
SLOW = 1.0


def _vm_url(emu: RunningEmulator, vm: str, suffix: str = "/instanceView") -> str:
    i = emu.info
    return (
        f"{i.arm_url}/subscriptions/{i.subscription_id}/resourceGroups/{i.resource_group}"
        f"/providers/Microsoft.Compute/virtualMachines/{vm}{suffix}?api-version=2026-04-01"
    )


def _names(emu: RunningEmulator) -> list[str]:
    return [i.name for i in Inventory(FleetTarget.from_emulator(emu.info)).instances()]


def test_per_vm_budget_answers_429_as_azure_does(
    start_emulator: Callable[..., RunningEmulator],
) -> None:
    emu = start_emulator(time_scale=SLOW)
    first, second = _names(emu)[:2]
    auth = {"Authorization": "Bearer t"}
    with httpx.Client(headers=auth, timeout=10) as http:
        answers = [http.get(_vm_url(emu, first)) for _ in range(PER_VM_BUCKET + 4)]
        other = http.get(_vm_url(emu, second))
    statuses = [a.status_code for a in answers]
    assert statuses[:PER_VM_BUCKET] == [200] * PER_VM_BUCKET
    assert set(statuses[PER_VM_BUCKET:]) == {429}
    throttled = answers[-1]
    body = throttled.json()["error"]
    assert body["code"] == "OperationNotAllowed"
    assert body["details"][0]["code"] == "TooManyRequests"
    assert body["details"][0]["target"] == "LowCostGetVMResource"
    assert json.loads(body["details"][0]["message"])["operationGroup"] == "LowCostGetVMResource"
    assert int(throttled.headers["Retry-After"]) >= 1
    left = parse_remaining(throttled.headers["x-ms-ratelimit-remaining-resource"])
    assert left["LowCostGetVMResource"] == 0
    assert "x-ms-ratelimit-remaining-subscription-reads" in throttled.headers
    # every answer carries the budgets; another VM has its own bucket
    ok = parse_remaining(answers[0].headers["x-ms-ratelimit-remaining-resource"])
    assert ok == {"LowCostGetVMSubscription": 23999, "LowCostGetVMResource": 35}
    assert other.status_code == 200
    stats = httpx.get(emu.info.arm_url + "/_emulator/throttling").json()
    assert stats["throttled"] == {"LowCostGetVM": 4}
    assert stats["clock"] == "platform"


def test_harness_reads_budgets_and_paces_its_listing(
    start_emulator: Callable[..., RunningEmulator],
) -> None:
    emu = start_emulator()
    target = FleetTarget.from_emulator(emu.info)
    inventory = Inventory(target, paced=True)
    assert len(inventory.instances()) == 6 and inventory.pages == 1
    log = target.clients.call_log
    left = log.left("HighCostGetVMSubscription")
    assert left is not None and 890 <= left < 900
    assert log.left("arm-reads") is not None
    # a budget reported as nearly spent: the paced listing is skipped, no request sent
    sent = log.summary()["answers"]
    log.remaining["HighCostGetVMSubscription"] = (1, 0.0)
    with pytest.raises(BudgetExhausted, match="List VMs budget has 1 requests left"):
        inventory.instances()
    assert log.summary()["answers"] == sent


def test_topology_switches_throttling_off(
    start_emulator: Callable[..., RunningEmulator],
) -> None:
    emu = start_emulator("[throttling]\nenabled = false\n", time_scale=SLOW)
    vm = _names(emu)[0]
    with httpx.Client(headers={"Authorization": "Bearer t"}, timeout=10) as http:
        answers = [http.get(_vm_url(emu, vm)) for _ in range(PER_VM_BUCKET + 4)]
    assert {a.status_code for a in answers} == {200}
    assert "x-ms-ratelimit-remaining-resource" not in answers[-1].headers


def _health_burst(target: FleetTarget, calls: int, paced: bool) -> int:
    """`calls` load-balancer health queries (Resource Manager writes, no Compute bucket) from
    16 threads at once; the number of 429 answers the SDK saw (and retried)."""
    network = target.clients.network.load_balancer_load_balancing_rules
    rule = LoadBalancerRouting(target).rule
    log = target.clients.call_log

    def one(_: int) -> None:
        if paced:
            pace(target, "arm-writes")
        with contextlib.suppress(HttpResponseError):  # unpaced: retries may run out
            network.begin_health(target.resource_group, target.load_balancer, rule, polling=False)

    before = log.statuses.get(429, 0)
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(one, range(calls)))
    return log.statuses.get(429, 0) - before


def test_paced_burst_of_writes_from_many_threads_draws_no_429(
    start_emulator: Callable[..., RunningEmulator],
) -> None:
    """A 1000-VM zone down sends 333 power actions from 16 threads: paced on one shared
    estimate of Resource Manager's write bucket (200, refill 10 a second), none is throttled;
    the same burst unpaced is (the control: the bucket is really there and really reached)."""
    burst = 260  # over the bucket of 200: the refill (10/s at time scale 1) must pace the rest
    control = FleetTarget.from_emulator(start_emulator(time_scale=SLOW).info)
    assert _health_burst(control, burst, paced=False) > 0
    paced = FleetTarget.from_emulator(start_emulator(time_scale=SLOW).info)
    assert _health_burst(paced, burst, paced=True) == 0
    left = paced.clients.call_log.left("arm-writes")
    assert left is not None and left >= 1
