"""Topology TOML: defaults, overrides, and one readable error per malformed key."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.topology import Topology, load_topology, parse_topology
from flexchaos.errors import FlexchaosError


def test_defaults_are_the_documented_fleet() -> None:
    t = load_topology(None)
    assert t == Topology()
    assert (t.scale_set.vm_count, t.scale_set.spot_count) == (6, 2)
    assert t.scale_set.zones == ["1", "2", "3"]
    assert t.scale_set.orchestration_mode == "Flexible"
    assert t.automatic_repairs.grace_period_seconds == 600
    assert t.timings.eviction_notice == 30


def test_overrides_keep_other_defaults() -> None:
    t = parse_topology(
        """
        [scale_set]
        vm_count = 3
        spot_count = 0
        zones = [1]
        [automatic_repairs]
        grace_period = "PT1H30M"
        repair_action = "Restart"
        [timings]
        start = 5
        """
    )
    assert (t.scale_set.vm_count, t.scale_set.zones) == (3, ["1"])
    assert t.automatic_repairs.grace_period_seconds == 5400
    assert t.timings.start == 5.0
    assert t.timings.power_off == 15.0
    assert t.scale_set.name == "vmss-web"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[scale_set]\nvm_cont = 3\n", "[scale_set] vm_cont"),
        ("[scale_set]\nvm_count = 'six'\n", "[scale_set] vm_count"),
        ("[scale_set]\nspot_count = 9\n", "spot_count"),
        ("[scale_set]\norchestration_mode = 'Flex'\n", "orchestration_mode"),
        ("[automatic_repairs]\ngrace_period = '10 minutes'\n", "grace_period"),
        ("[automatic_repairs]\nrepair_action = 'Reboot'\n", "repair_action"),
        ("[app]\naddress_base = '10.0.0.1'\n", "address_base"),
        ("[timings]\nstart = -1\n", "[timings] start"),
        ("[health_extension]\nenabled = 'yes'\n", "[health_extension] enabled"),
        ("[health_extension]\nhealth_states = 'v2'\n", "health_states"),
        ("[health_extension]\ngrace_period = 20000\n", "grace_period"),
        ("[load_balancer]\nstopped_vm_flows = 'drop'\n", "stopped_vm_flows"),
        ("[chaos]\nx = 1\n", "[chaos]"),
        ("[scale_set\n", "not valid TOML"),
    ],
)
def test_malformed_topology_names_the_key(text: str, names: str) -> None:
    with pytest.raises(FlexchaosError) as caught:
        parse_topology(text)
    message = str(caught.value)
    assert names in message
    assert "\n" not in message


def test_data_plane_choices_default_to_azures_and_can_be_set() -> None:
    default = parse_topology("")
    assert default.load_balancer.stopped_vm_flows == "blackhole"
    assert default.health_extension.type_handler_version == "1.0"
    chosen = parse_topology(
        '[load_balancer]\nstopped_vm_flows = "refuse"\n'
        '[health_extension]\nhealth_states = "rich"\ngrace_period = 60\n'
    )
    assert chosen.load_balancer.stopped_vm_flows == "refuse"
    assert chosen.health_extension.type_handler_version == "2.0"
    assert chosen.health_extension.grace_period == 60


def test_missing_file_is_a_readable_error(tmp_path: Path) -> None:
    with pytest.raises(FlexchaosError, match="cannot read topology file"):
        load_topology(tmp_path / "absent.toml")
