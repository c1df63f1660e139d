"""The guard's rules on read-only facts: each refusal names its rule and value."""

from __future__ import annotations

import pytest

from fleet.clients import Endpoint
from fleet.guard import GuardLimits, GuardRefusal, check, parse_max_unavailable
from fleet.inventory import Instance, ScaleSet
from fleet.target import FleetTarget
from flexchaos.errors import FlexchaosError
from tests.fleet import wire

AZURE = FleetTarget(Endpoint("https://management.example"), wire.SUB, wire.RG, wire.SET)
EMULATOR = FleetTarget(
    Endpoint("http://127.0.0.1:1", emulator_token="t"), wire.SUB, wire.RG, wire.SET, kind="emulator"
)
FLEX = ScaleSet.from_wire(wire.scale_set())
INSTANCES = [Instance.from_vm(v) for v in wire.fleet(6, spot=2)]
NAMES = [i.name for i in INSTANCES]
LIMITS = GuardLimits(max_unavailable=2, floor=0.5)


def refusal(**kwargs: object) -> GuardRefusal:
    args = {
        "target": AZURE,
        "scale_set": FLEX,
        "instances": INSTANCES,
        "fault": "stop",
        "names": [NAMES[0]],
        "limits": LIMITS,
    }
    args.update(kwargs)
    with pytest.raises(GuardRefusal) as info:
        check(**args)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    return info.value


def test_allows_within_limits() -> None:
    verdict = check(AZURE, FLEX, INSTANCES, "stop", NAMES[:2], LIMITS)
    assert verdict.unavailable_after == 2 and verdict.healthy_after == 4


def test_uniform_refused() -> None:
    r = refusal(scale_set=ScaleSet.from_wire(wire.scale_set(mode="Uniform")))
    assert r.rule == "orchestration" and "Uniform" in str(r)


def test_allow_tag_on_azure_only() -> None:
    untagged = ScaleSet.from_wire(wire.scale_set(tags={}))
    r = refusal(scale_set=untagged)
    assert r.rule == "allow_tag" and "chaos=allowed" in str(r) and "missing" in str(r)
    wrong = refusal(scale_set=ScaleSet.from_wire(wire.scale_set(tags={"chaos": "no"})))
    assert "chaos=no" in str(wrong)
    check(EMULATOR, untagged, INSTANCES, "stop", [NAMES[0]], LIMITS)  # the emulator needs none


def test_membership() -> None:
    r = refusal(names=["stranger"])
    assert r.rule == "membership" and "'stranger'" in str(r)


def test_spot_only() -> None:
    r = refusal(fault="evict", names=[NAMES[0]], spot_only=True)
    assert r.rule == "spot_only" and "Regular" in str(r)
    check(AZURE, FLEX, INSTANCES, "evict", [NAMES[-1]], LIMITS, spot_only=True)


def test_max_unavailable_counts_vms_already_out() -> None:
    r = refusal(names=NAMES[:3])
    assert r.rule == "max_unavailable" and "3 of 6" in str(r) and "max_unavailable=2" in str(r)
    down = [Instance.from_vm(wire.vm("x0", power="stopped", health=None)), *INSTANCES[1:]]
    r = refusal(instances=down, names=[NAMES[1], NAMES[2]])
    assert "(1 already)" in str(r)
    percent = refusal(names=NAMES[:3], limits=GuardLimits("34%", 0.0))
    assert "max_unavailable=34%" in str(percent) and "(2 VM(s))" in str(percent)


def test_a_vm_that_is_already_down_is_refused_so_its_revert_never_starts_it() -> None:
    down = [Instance.from_vm(wire.vm("x0", power="deallocated", health=None)), *INSTANCES[1:]]
    r = refusal(instances=down, names=["x0", NAMES[1]])
    assert r.rule == "running" and "'x0' is deallocated" in str(r)
    assert NAMES[1] not in str(r)


def test_floor() -> None:
    r = refusal(names=NAMES[:3], limits=GuardLimits(max_unavailable="100%", floor=0.6))
    assert r.rule == "floor" and "3 of 6 healthy" in str(r) and "floor 0.6" in str(r)


def test_limits_parse() -> None:
    assert parse_max_unavailable("3") == 3
    assert parse_max_unavailable("25%") == "25%"
    assert GuardLimits("25%").max_unavailable_count(10) == 2
    with pytest.raises(FlexchaosError, match="neither a count"):
        GuardLimits("lots")
    with pytest.raises(FlexchaosError, match="between 0 and 1"):
        GuardLimits(1, floor=2)
