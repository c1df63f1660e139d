"""One fleet resolution for the commands and the pytest plugin (flexchaos.fleet_spec).

The same declarations reach argparse and pytest (flags and ini keys), the same checks give the
same one-line errors, and `open_fleet` starts, attaches to or names the fleet.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest

from emulator.launcher import RunningEmulator
from flexchaos.cli import build_parser
from flexchaos.errors import FlexchaosError
from flexchaos.fleet_spec import FLEET_OPTIONS, FleetSpec, open_fleet
from tests.waiting import wait_for

pytest_plugins = ["pytester"]


def command_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["review", *argv])


def test_commands_and_pytest_know_the_same_fleet_options(pytester: pytest.Pytester) -> None:
    flags = {f"--{o.name}" for o in FLEET_OPTIONS}
    assert {"--allow-tag", "--topology", "--time-scale", "--lb-url", "--load-balancer"} <= flags
    for argv in (["review"], ["plan", "--fault", "stop"]):
        assert {o.key for o in FLEET_OPTIONS} <= set(vars(build_parser().parse_args(argv)))
    config = pytester.parseconfig()
    for option in FLEET_OPTIONS:
        assert config.getoption(option.ini) is None  # registered; unset on the command line
        assert config.getini(option.ini) == option.default


def test_a_command_line_and_an_ini_file_parse_alike(pytester: pytest.Pytester) -> None:
    argv = ["--fleet", "azure", "--subscription", "s", "--resource-group", "rg"]
    argv += ["--scale-set", "vmss", "--lb-url", "http://lb", "--allow-tag", "team=chaos"]
    from_command = FleetSpec.from_args(command_args(*argv), traffic=True)
    pytester.makeini(
        "[pytest]\nflexchaos_fleet = azure\nflexchaos_subscription = s\n"
        "flexchaos_resource_group = rg\nflexchaos_scale_set = vmss\n"
        "flexchaos_lb_url = http://lb\nflexchaos_allow_tag = team=chaos\n"
    )
    assert FleetSpec.from_pytest(pytester.parseconfig()) == from_command
    overridden = FleetSpec.from_pytest(pytester.parseconfig("--scale-set", "other"))
    assert overridden.scale_set == "other"  # the command line wins over the ini file


@pytest.mark.parametrize(
    ("argv", "traffic", "expected"),
    [
        (["--fleet", "gcp"], False, "--fleet 'gcp' is not known; use one of emulator, azure"),
        (["--fleet", "azure"], False, "--fleet azure needs --subscription, --resource-group"),
        (
            [
                "--fleet",
                "azure",
                "--subscription",
                "s",
                "--resource-group",
                "r",
                "--scale-set",
                "v",
            ],
            True,
            "--fleet azure needs --lb-url (the scale set and its load balancer frontend)",
        ),
        (["--time-scale", "fast"], False, "--time-scale must be a number from 0.001 to 1"),
        (["--time-scale", "0"], False, "got '0'"),
        (["--allow-tag", "chaos"], False, "--allow-tag 'chaos' must look like KEY=VALUE"),
        (["--topology", "/no/such.toml"], False, "cannot read topology file /no/such.toml"),
    ],
)
def test_bad_fleet_options_are_one_line(argv: list[str], traffic: bool, expected: str) -> None:
    with pytest.raises(FlexchaosError) as raised:
        FleetSpec.from_args(command_args(*argv), traffic=traffic)
    assert expected in str(raised.value) and "\n" not in str(raised.value)


def test_a_malformed_topology_is_refused_before_any_emulator_starts(tmp_path: Path) -> None:
    topology = tmp_path / "bad.toml"
    topology.write_text("[scale_set\n")
    with pytest.raises(FlexchaosError, match=r"bad\.toml"):
        FleetSpec.parse({"topology": str(topology)})
    # attached to a running emulator, a topology is not this run's to apply: refused, not ignored
    with pytest.raises(FlexchaosError, match="--topology applies only to an emulator started"):
        FleetSpec.parse({"topology": str(topology), "arm_url": "http://127.0.0.1:1"})


def test_an_azure_fleet_is_named_not_contacted() -> None:
    spec = FleetSpec.parse(
        {
            "fleet": "azure", "subscription": "s", "resource_group": "rg", "scale_set": "vmss",
            "load_balancer": "lb", "lb_url": "http://frontend", "allow_tag": "team=chaos",
            "arm_url": "https://management.example",
        },
        traffic=True,
    )  # fmt: skip
    with open_fleet(spec) as fleet:
        target = fleet.target
        assert (target.kind, target.subscription_id, target.scale_set) == ("azure", "s", "vmss")
        assert target.allow_tag == ("team", "chaos") and target.load_balancer == "lb"
        assert target.endpoint.arm_url == "https://management.example"
        assert (fleet.lb_url, fleet.time_scale) == ("http://frontend", 1.0)


def test_an_emulator_started_for_the_run_is_stopped_after_it(tmp_path: Path) -> None:
    import os

    topology = tmp_path / "three.toml"
    topology.write_text("[scale_set]\nvm_count = 3\nspot_count = 0\n")
    spec = FleetSpec.parse({"topology": str(topology), "time_scale": "0.02"}, traffic=True)
    said: list[str] = []
    with open_fleet(spec, log_path=tmp_path / "out" / "emulator.log", say=said.append) as fleet:
        from fleet.inventory import Inventory

        assert len(Inventory(fleet.target).instances()) == 3
        assert fleet.time_scale == 0.02 and fleet.lb_url and fleet.target.kind == "emulator"
        pid = _emulator_pid(fleet.target.endpoint.arm_url)
    assert said and fleet.target.endpoint.arm_url in said[0]
    assert (tmp_path / "out" / "emulator.log").is_file()

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(gone, timeout=10, what="the emulator process to exit")


def test_an_attached_emulator_takes_the_overrides(
    start_emulator: Callable[..., RunningEmulator],
) -> None:
    emulator = start_emulator()
    spec = FleetSpec.parse(
        {"arm_url": emulator.info.arm_url, "scale_set": "other", "allow_tag": "a=b"}
    )
    with open_fleet(spec) as fleet:
        assert fleet.target.scale_set == "other" and fleet.target.allow_tag == ("a", "b")
        assert fleet.lb_url == emulator.info.lb_url
        assert fleet.time_scale == emulator.info.time_scale
    assert emulator.process.poll() is None  # attached, so not ours to stop


def _emulator_pid(arm_url: str) -> int:
    from emulator.launcher import attach

    pid = attach(arm_url).pid
    assert pid is not None
    return pid
