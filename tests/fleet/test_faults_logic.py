"""Fault definitions without a server: options, broken settings, the calls a plan shows."""

from __future__ import annotations

import pytest

from fleet.faults import FAULTS, fault
from fleet.faults.health_extension import BreakHealthExtension
from fleet.selection import Selection
from fleet.target import FleetTarget
from flexchaos.errors import FlexchaosError

TARGET = FleetTarget.azure("sub", "rg", "vmss")


def test_every_fault_is_registered_with_a_plan() -> None:
    assert {
        "stop",
        "deallocate",
        "evict",
        "break-extension",
        "zone-down",
        "restart",
        "redeploy",
        "chaos-shutdown",
        "chaos-redeploy",
    } <= set(FAULTS)
    for f in FAULTS.values():
        options = f.check_options({"zone": "1"} if f.name == "zone-down" else {})
        calls = f.plan_calls(TARGET, ["vm1"], options, 60)
        inject, revert = calls.per_vm["vm1"]
        assert inject
        assert bool(revert or calls.shared) == f.revertible, f.name


def test_options_are_checked() -> None:
    with pytest.raises(FlexchaosError, match="has no option colour"):
        fault("stop").check_options({"colour": "red"})
    with pytest.raises(FlexchaosError, match="needs a zone"):
        fault("zone-down").check_options({})
    with pytest.raises(FlexchaosError, match="unknown fault 'melt'"):
        fault("melt")
    with pytest.raises(FlexchaosError, match="did you mean 'stop'"):
        fault("stopp")
    assert fault("stop").check_options({"skip_shutdown": True}) == {"skip_shutdown": True}
    assert "skip_shutdown=True" in fault("stop").inject_calls("rg", "v", {"skip_shutdown": True})[0]
    with pytest.raises(FlexchaosError, match="12 h"):
        fault("chaos-shutdown").validate({}, 13 * 3600)


def test_zone_down_selects_the_whole_zone() -> None:
    sel = fault("zone-down").takes_out({"zone": "2"}, Selection(count=1, seed=3))
    assert sel.zone == "2" and sel.count is None and sel.seed == 3


def test_broken_settings_keep_everything_but_the_probe_target() -> None:
    http = {"protocol": "http", "port": 8080, "requestPath": "/health", "intervalInSeconds": 5}
    broken = BreakHealthExtension.broken_settings(http, "/nope")
    assert broken == {**http, "requestPath": "/nope"} and http["requestPath"] == "/health"
    tcp = BreakHealthExtension.broken_settings({"protocol": "tcp", "port": 80}, "/nope")
    assert tcp == {"protocol": "tcp", "port": 1}
