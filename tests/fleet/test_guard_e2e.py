"""Guard refusals against the emulator: each is one line naming the rule and the value, and the
emulator's request log shows zero mutating calls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.launcher import RunningEmulator
from fleet.clients import Endpoint
from fleet.guard import GuardLimits, GuardRefusal
from fleet.injector import Injector
from fleet.inventory import Inventory
from fleet.journal import Journal
from fleet.selection import Selection
from fleet.target import FleetTarget
from tests.fleet.support import flexchaos, mutating_calls_since, now, target_of, wait_settled


@pytest.fixture(scope="module")
def emulator(start_emulator: Callable[..., RunningEmulator]) -> RunningEmulator:
    """The default fleet without automatic repairs, so that only the tests change it."""
    return start_emulator("[automatic_repairs]\nenabled = false\n")


@pytest.fixture(scope="module")
def fleet(emulator: RunningEmulator) -> FleetTarget:
    return target_of(emulator)


def refused(
    emulator: RunningEmulator,
    target: FleetTarget,
    tmp_path: Path,
    fault: str,
    selection: Selection,
    limits: GuardLimits | None = None,
    settle: bool = True,
) -> GuardRefusal:
    """Inject, expect a refusal, and check that nothing mutating reached the emulator."""
    journal = Journal(tmp_path / "journal.jsonl")
    if settle:
        wait_settled(target)  # the counts in the messages assume a whole, healthy fleet
    mark = now()
    with pytest.raises(GuardRefusal) as info, Injector(target, journal, limits) as chaos:
        chaos.inject(fault, selection)
    assert mutating_calls_since(emulator.client, mark) == []
    assert journal.records() == []
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"guard refused ({info.value.rule})")
    return info.value


def names(target: FleetTarget, spot: bool) -> list[str]:
    return [i.name for i in Inventory(target).instances() if i.spot == spot]


def test_non_member_vm(emulator: RunningEmulator, fleet: FleetTarget, tmp_path: Path) -> None:
    r = refused(emulator, fleet, tmp_path, "stop", Selection(names=("vmss-web_deadbeef",)))
    assert r.rule == "membership" and "'vmss-web_deadbeef'" in str(r)


def test_over_max_unavailable(
    emulator: RunningEmulator, fleet: FleetTarget, tmp_path: Path
) -> None:
    r = refused(emulator, fleet, tmp_path, "stop", Selection(count=3, seed=1), GuardLimits(2, 0))
    assert r.rule == "max_unavailable" and "3 of 6" in str(r) and "max_unavailable=2" in str(r)


def test_under_the_floor(emulator: RunningEmulator, fleet: FleetTarget, tmp_path: Path) -> None:
    r = refused(
        emulator,
        fleet,
        tmp_path,
        "deallocate",
        Selection(count=2, seed=1),
        GuardLimits("100%", 0.8),
    )
    assert r.rule == "floor" and "4 of 6 healthy" in str(r) and "floor 0.8" in str(r)


def test_evict_on_a_regular_vm(
    emulator: RunningEmulator, fleet: FleetTarget, tmp_path: Path
) -> None:
    vm = names(fleet, spot=False)[0]
    r = refused(emulator, fleet, tmp_path, "evict", Selection(names=(vm,)))
    assert r.rule == "spot_only" and vm in str(r) and "Regular" in str(r)


def test_vms_already_down_count_against_max_unavailable(
    emulator: RunningEmulator, fleet: FleetTarget, tmp_path: Path
) -> None:
    regular = names(fleet, spot=False)
    journal = Journal(tmp_path / "first.jsonl")
    with Injector(fleet, journal, GuardLimits(1, 0)) as chaos:
        chaos.inject("stop", Selection(names=(regular[0],)))
        r = refused(
            emulator,
            fleet,
            tmp_path,
            "stop",
            Selection(names=(regular[1],)),
            GuardLimits(1, 0),
            settle=False,
        )
        assert "(1 already)" in str(r)
    wait_settled(fleet)


def test_uniform_set(start_emulator: Callable[..., RunningEmulator], tmp_path: Path) -> None:
    uniform = start_emulator('[scale_set]\norchestration_mode = "Uniform"\nvm_count = 2\n')
    r = refused(uniform, target_of(uniform), tmp_path, "stop", Selection(count=1), settle=False)
    assert r.rule == "orchestration" and "Uniform" in str(r)


def test_missing_allow_tag_on_an_azure_target(
    start_emulator: Callable[..., RunningEmulator], tmp_path: Path
) -> None:
    untagged = start_emulator("[scale_set]\nvm_count = 2\ntags = {}\n")
    info = untagged.info
    azure_kind = FleetTarget(
        Endpoint(info.arm_url, emulator_token=info.token),
        info.subscription_id,
        info.resource_group,
        info.scale_set,
        allow_tag=("chaos", "allowed"),
        kind="azure",
    )
    r = refused(untagged, azure_kind, tmp_path, "stop", Selection(count=1), settle=False)
    assert r.rule == "allow_tag" and "chaos=allowed" in str(r) and "missing" in str(r)
    # the same set is fine as an emulator target, which needs no tag
    assert not Injector(target_of(untagged)).plan("stop", Selection(count=1)).refusal


def test_missing_scale_set_is_one_line(emulator: RunningEmulator, tmp_path: Path) -> None:
    result = flexchaos(
        "plan", "--fault", "stop", "--arm-url", emulator.info.arm_url, "--scale-set", "nope"
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "scale set 'nope' not found in resource group" in lines[0]


def test_dry_run_prints_the_refusal_and_changes_nothing(emulator: RunningEmulator) -> None:
    mark = now()
    result = flexchaos(
        "plan",
        "--fault",
        "evict",
        "--priority",
        "Regular",
        "--count",
        "1",
        "--arm-url",
        emulator.info.arm_url,
    )
    assert result.returncode == 2  # a refusal is bad input
    assert "guard refused (spot_only)" in result.stdout
    assert mutating_calls_since(emulator.client, mark) == []
