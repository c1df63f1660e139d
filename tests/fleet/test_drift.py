"""Drift between snapshots: what always changes is ignored, replacements are named."""

from __future__ import annotations

import copy
from typing import Any

from fleet.evidence import drift
from tests.fleet import wire


def snap(vms: list[dict[str, Any]], lb_addresses: list[str] | None = None) -> dict[str, Any]:
    lb = None
    if lb_addresses is not None:
        lb = {
            "name": "lb-web",
            "etag": "W/1",
            "properties": {
                "backendAddressPools": [
                    {
                        "name": "pool",
                        "properties": {
                            "loadBalancerBackendAddresses": [
                                {"name": f"addr-{a}", "properties": {"ipAddress": a}}
                                for a in lb_addresses
                            ]
                        },
                    }
                ]
            },
        }
    return {
        "taken_at": 1.0,
        "scale_set": wire.scale_set(),
        "vms": {v["name"]: v for v in vms},
        "load_balancer": lb,
    }


def test_timestamps_and_etags_are_ignored() -> None:
    before = snap(wire.fleet(3, 0), ["127.0.1.1"])
    after = copy.deepcopy(before)
    after["taken_at"] = 99.0
    after["load_balancer"]["etag"] = "W/2"
    for v in after["vms"].values():
        v["properties"]["instanceView"]["statuses"][0]["time"] = "2026-02-02T00:00:00Z"
    report = drift(before, after)
    assert report.none and report.text() == "no drift"


def test_power_state_change_is_drift() -> None:
    vms = wire.fleet(3, 0)
    before = snap(vms)
    after = copy.deepcopy(before)
    name = vms[1]["name"]
    after["vms"][name]["properties"]["instanceView"]["statuses"][1]["code"] = "PowerState/stopped"
    report = drift(before, after)
    assert not report.empty
    assert any(name in c.path and "PowerState" in c.line() for c in report.changes)


def test_extension_settings_change_is_drift() -> None:
    before = snap([wire.vm("a", settings={"requestPath": "/health"})])
    after = snap([wire.vm("a", settings={"requestPath": "/broken"})])
    report = drift(before, after)
    assert [c.after for c in report.changes] == ["/broken"]


def test_replaced_vm_is_named_and_its_lb_member_explained() -> None:
    old = wire.vm("vmss-web_old", zone="2", address="127.0.1.3")
    keep = wire.vm("vmss-web_keep", zone="1", address="127.0.1.1")
    new = wire.vm("vmss-web_new", zone="2", address="127.0.1.13")
    before = snap([keep, old], ["127.0.1.1", "127.0.1.3"])
    after = snap([keep, new], ["127.0.1.1", "127.0.1.13"])
    report = drift(before, after)
    assert report.replaced == [("vmss-web_old", "vmss-web_new")]
    assert report.empty and not report.none
    assert report.explained  # the pool member moved with the replacement
    assert "replaced: vmss-web_old → vmss-web_new" in report.text()


def test_unpaired_removal_is_drift() -> None:
    a, b = wire.vm("a"), wire.vm("b")
    report = drift(snap([a, b]), snap([a]))
    assert report.removed == ["b"] and not report.empty
