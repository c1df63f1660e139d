"""The command line that reruns exactly one experiment: same file, same test, same seed, same
fleet options, same targets and load.

On the emulator the seed also names the fleet's VMs (`flexchaos emulator --seed`), so the same
seed picks the same VMs again on a fresh emulator — provided the experiment is the first to
change the fleet (an earlier experiment of the game day may have replaced a VM; rerun the
whole game day with the same seed to reproduce that too).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from flexchaos.fleet_spec import DEFAULT_TIME_SCALE, FleetSpec
from flexchaos.settings import DEFAULT_USERS, Settings

DEFAULT_TARGETS = Path("experiments/targets.toml")


def fleet_arguments(spec: FleetSpec) -> list[str]:
    """The fleet options that were given (defaults left out)."""
    args: list[str] = []
    if spec.kind != "emulator":
        args += ["--fleet", spec.kind]
    for flag, value in (
        ("--arm-url", spec.arm_url),
        ("--subscription", spec.subscription),
        ("--resource-group", spec.resource_group),
        ("--scale-set", spec.scale_set),
        ("--load-balancer", spec.load_balancer),
        ("--lb-url", spec.lb_url),
        ("--topology", str(spec.topology) if spec.topology else None),
    ):
        if value:
            args += [flag, value]
    if spec.kind == "emulator" and not spec.arm_url and spec.time_scale != DEFAULT_TIME_SCALE:
        args += ["--time-scale", f"{spec.time_scale:g}"]
    return args


def rerun_command(nodeid: str, settings: Settings, seed: int) -> str:
    """`flexchaos gameday --experiments FILE::TEST -- --seed N [...]`, ready to paste; `nodeid`
    is pytest's (relative to the rootdir, where the command is run from)."""
    extra = ["--seed", str(seed), *fleet_arguments(settings.fleet_spec)]
    if settings.targets != DEFAULT_TARGETS:
        extra += ["--targets", str(settings.targets)]
    if settings.users != DEFAULT_USERS:
        extra += ["--users", str(settings.users)]
    if settings.dry_run:  # the rerun of a dry run must not inject what the dry run did not
        extra.append("--dry-run")
    return shlex.join(["flexchaos", "gameday", "--experiments", nodeid, "--", *extra])
