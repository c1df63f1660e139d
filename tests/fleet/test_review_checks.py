"""Design review checks on snapshots: each finding's status and reason."""

from __future__ import annotations

from typing import Any

from fleet.review import minutes, review_snapshot, text
from tests.fleet import wire


def snap(scale_set: dict[str, Any], vms: list[dict[str, Any]], lb: Any = None) -> dict[str, Any]:
    return {"scale_set": scale_set, "vms": {v["name"]: v for v in vms}, "load_balancer": lb}


def lb_with(addresses: list[str]) -> dict[str, Any]:
    return {
        "name": "lb-web",
        "properties": {
            "backendAddressPools": [
                {
                    "name": "pool",
                    "properties": {
                        "loadBalancerBackendAddresses": [
                            {"name": a, "properties": {"ipAddress": a}} for a in addresses
                        ]
                    },
                }
            ]
        },
    }


def by_check(findings: list[Any]) -> dict[str, Any]:
    return {f.check: f for f in findings}


def good_vms() -> list[dict[str, Any]]:
    return [
        wire.vm(
            f"v{i}",
            zone=str(i % 3 + 1),
            priority="Spot" if i == 5 else "Regular",
            address=f"127.0.1.{i + 1}",
        )
        for i in range(6)
    ]


def test_a_sound_design_passes() -> None:
    s = wire.scale_set(
        repairs={"enabled": True, "gracePeriod": "PT10M", "repairAction": "Replace"},
        mix={"baseRegularPriorityCount": 2, "regularPriorityPercentageAboveBase": 50},
    )
    findings = review_snapshot(snap(s, good_vms(), lb_with([f"127.0.1.{i + 1}" for i in range(6)])))
    assert {f.status for f in findings} == {"pass"}, text(findings)
    assert "review: PASS" in text(findings)


def test_each_check_can_fail_or_warn() -> None:
    vms = good_vms()
    vms[0] = wire.vm("v0", zone="1", size="Standard_D4s_v3", address="127.0.1.1")
    vms[1]["properties"]["instanceView"]["extensions"] = []
    for v in vms[2:]:
        v["properties"]["priority"] = "Spot"
    s = wire.scale_set(
        mode="Uniform",
        zones=["1"],
        repairs={"enabled": True, "gracePeriod": "PT45M"},
        mix={"baseRegularPriorityCount": 3, "regularPriorityPercentageAboveBase": 0},
    )
    for v in vms:
        v["zones"] = ["1"]
        v["properties"]["instanceView"]["platformFaultDomain"] = 0
    found = by_check(review_snapshot(snap(s, vms, lb_with(["127.0.1.1"]))))
    assert found["orchestration"].status == "fail"
    assert found["zones"].status == "fail"
    assert found["health extension"].status == "fail" and "v1" in found["health extension"].reason
    assert (
        found["automatic repairs"].status == "warn" and "PT45M" in found["automatic repairs"].reason
    )
    assert found["load balancer"].status == "fail" and "5 of 6" in found["load balancer"].reason
    assert found["vm sizes"].status == "warn"
    assert found["spot mix"].status == "fail" and "2 Regular" in found["spot mix"].reason


def test_warnings_without_lb_repairs_or_mix_policy() -> None:
    found = by_check(review_snapshot(snap(wire.scale_set(), good_vms())))
    assert found["load balancer"].status == "warn"
    assert found["automatic repairs"].status == "warn"
    assert found["spot mix"].status == "warn"


def test_fault_domain_spreading_without_zones_is_a_warning() -> None:
    vms = [wire.vm(f"v{i}", zone=None, fd=i % 3) for i in range(3)]
    found = by_check(review_snapshot(snap(wire.scale_set(zones=[]), vms)))
    assert found["zones"].status == "warn" and "3 fault domains" in found["zones"].reason


def test_iso_minutes() -> None:
    assert minutes("PT10M") == 10 and minutes("PT1H30M") == 90 and minutes("bad") is None
