"""Inventory, evidence, dry run and review against the emulator over the SDK."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable

import pytest

from emulator.launcher import RunningEmulator
from fleet.evidence import snapshot
from fleet.inventory import Inventory
from fleet.target import FleetTarget
from tests.fleet.support import flexchaos, mutating_calls_since, now, target_of, wait_settled

VMS, PAGE = 7, 3
TOPOLOGY = f"""
[scale_set]
vm_count = {VMS}
page_size = {PAGE}
spot_count = 2
[automatic_repairs]
enabled = false                        # nothing here needs repairs; keep the fleet still
"""
LIST_ROUTE = (
    "GET /subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.Compute/virtualMachines"
)


@pytest.fixture(scope="module")
def world(start_emulator: Callable[..., RunningEmulator]) -> tuple[RunningEmulator, FleetTarget]:
    emulator = start_emulator(TOPOLOGY)
    target = target_of(emulator)
    wait_settled(target, VMS)
    return emulator, target


def counters(emulator: RunningEmulator) -> Counter[str]:
    return Counter(emulator.client.requests()["counters"])


def test_one_sample_is_one_listing_page_by_page(
    world: tuple[RunningEmulator, FleetTarget],
) -> None:
    emulator, target = world
    inventory = Inventory(target)
    before = counters(emulator)
    sample = inventory.sample()
    spent = counters(emulator) - before
    assert spent == Counter({LIST_ROUTE: math.ceil(VMS / PAGE)})
    assert len(sample.instances) == VMS
    spot = [i for i in sample.instances if i.spot]
    assert len(spot) == 2 and all(i.eviction_policy == "Deallocate" for i in spot)
    assert {i.zone for i in sample.instances} == {"1", "2", "3"}
    assert all(i.running and i.health_state == "healthy" for i in sample.instances)
    assert all(i.fault_domain is not None and i.vm_size for i in sample.instances)
    assert all(i.provisioning_state == "Succeeded" for i in sample.instances)
    assert all(
        i.health_extension is not None and i.health_extension.settings for i in sample.instances
    )
    assert all(i.scale_set_id == target.scale_set_id for i in sample.instances)


def test_snapshot_is_read_only_and_serialisable(
    world: tuple[RunningEmulator, FleetTarget],
) -> None:
    emulator, target = world
    mark = now()
    snap = snapshot(target)
    assert mutating_calls_since(emulator.client, mark) == []
    text = json.dumps(snap)
    assert "emulator_token" not in text
    assert len(snap["vms"]) == VMS
    vm = next(iter(snap["vms"].values()))
    assert vm["properties"]["instanceView"]["statuses"]
    assert any("settings" in e["properties"] for e in vm["extensions"])
    assert snap["load_balancer"]["name"] == target.load_balancer
    assert snap["scale_set"]["properties"]["orchestrationMode"] == "Flexible"


def test_plan_command_prints_vms_calls_reverts_and_seed(
    world: tuple[RunningEmulator, FleetTarget],
) -> None:
    emulator, target = world
    mark = now()
    result = flexchaos(
        "plan",
        "--fault",
        "stop",
        "--count",
        "2",
        "--seed",
        "11",
        "--skip-shutdown",
        "--arm-url",
        emulator.info.arm_url,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "seed=11" in out and "→ 2 of 7 VMs" in out and "guard: allowed" in out
    assert out.count("skip_shutdown=True") == 2 and out.count("begin_start") == 2
    again = flexchaos(
        "plan",
        "--fault",
        "stop",
        "--count",
        "2",
        "--seed",
        "11",
        "--skip-shutdown",
        "--arm-url",
        emulator.info.arm_url,
    )
    assert again.stdout.splitlines()[3:] == out.splitlines()[3:]  # same seed, same VMs
    zone = flexchaos(
        "plan", "--fault", "zone-down", "--zone", "3", "--arm-url", emulator.info.arm_url
    )
    in_zone = [i.name for i in Inventory(target).instances() if i.zone == "3"]
    assert all(name in zone.stdout for name in in_zone)
    assert mutating_calls_since(emulator.client, mark) == []


def test_review_command(world: tuple[RunningEmulator, FleetTarget]) -> None:
    emulator, _ = world
    result = flexchaos("review", "--json", "--arm-url", emulator.info.arm_url)
    assert result.returncode == 0, result.stdout + result.stderr
    findings = {f["check"]: f for f in json.loads(result.stdout)}
    assert set(findings) == {
        "orchestration",
        "zones",
        "health extension",
        "automatic repairs",
        "load balancer",
        "vm sizes",
        "spot mix",
    }
    assert findings["automatic repairs"]["status"] == "warn"
    assert findings["load balancer"]["status"] == "pass"
    assert findings["health extension"]["status"] == "pass"
    text = flexchaos("review", "--arm-url", emulator.info.arm_url)
    assert "review: " in text.stdout and "orchestration: Flexible" in text.stdout


def test_review_fails_a_uniform_single_zone_design(
    start_emulator: Callable[..., RunningEmulator],
) -> None:
    weak = start_emulator(
        '[scale_set]\norchestration_mode = "Uniform"\nvm_count = 2\nzones = ["1"]\n'
        "[automatic_repairs]\nenabled = false\n"
    )
    result = flexchaos("review", "--json", "--arm-url", weak.info.arm_url)
    assert result.returncode == 1
    findings = {f["check"]: f["status"] for f in json.loads(result.stdout)}
    assert findings["orchestration"] == "fail"
    assert findings["zones"] in ("warn", "fail")
    assert findings["automatic repairs"] == "warn"
