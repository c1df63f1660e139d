"""Fault definitions without a server: options, broken settings, the calls a plan shows."""

from __future__ import annotations

import pytest

from fleet.faults import FAULTS, BreakHealthExtension, fault
from fleet.selection import Selection
from flexchaos.errors import FlexchaosError


def test_every_fault_is_registered_with_a_plan() -> None:
    assert set(FAULTS) == {
        "stop",
        "deallocate",
        "evict",
        "break-extension",
        "zone-down",
        "restart",
        "redeploy",
    }
    for f in FAULTS.values():
        options = f.check_options({"zone": "1"} if f.name == "zone-down" else {})
        assert f.inject_calls("rg", "vm1", options)
        assert bool(f.revert_calls("rg", "vm1", options)) == f.revertible


def test_options_are_checked() -> None:
    with pytest.raises(FlexchaosError, match="has no option colour"):
        fault("stop").check_options({"colour": "red"})
    with pytest.raises(FlexchaosError, match="needs a zone"):
        fault("zone-down").check_options({})
    with pytest.raises(FlexchaosError, match="unknown fault 'melt'"):
        fault("melt")
    assert fault("stop").check_options({"skip_shutdown": True}) == {"skip_shutdown": True}
    assert "skip_shutdown=True" in fault("stop").inject_calls("rg", "v", {"skip_shutdown": True})[0]


def test_zone_down_selects_the_whole_zone() -> None:
    sel = fault("zone-down").selection({"zone": "2"}, Selection(count=1, seed=3))
    assert sel.zone == "2" and sel.count is None and sel.seed == 3


def test_broken_settings_keep_everything_but_the_probe_target() -> None:
    http = {"protocol": "http", "port": 8080, "requestPath": "/health", "intervalInSeconds": 5}
    broken = BreakHealthExtension.broken_settings(http, "/nope")
    assert broken == {**http, "requestPath": "/nope"} and http["requestPath"] == "/health"
    tcp = BreakHealthExtension.broken_settings({"protocol": "tcp", "port": 80}, "/nope")
    assert tcp == {"protocol": "tcp", "port": 1}
