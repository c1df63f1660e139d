"""Game-day settings, from the command line or pytest.ini/pyproject ([tool.pytest.ini_options]).

One object so that the plugin, the `flexchaos gameday` command and the experiments agree on
what a run targets and how hard it may push.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flexchaos.errors import FlexchaosError

FLEETS = ("emulator", "azure")

# name, help, default — each is both a --option and an ini key (flexchaos_<name>)
OPTIONS: list[tuple[str, str, Any]] = [
    ("fleet", "where the scale set lives: emulator (default, started here) or azure", "emulator"),
    ("arm-url", "attach to an emulator that is already running at this URL", None),
    ("subscription", "Azure subscription id (azure fleet)", None),
    ("resource-group", "resource group of the scale set (azure fleet)", None),
    ("scale-set", "name of the Flexible scale set (azure fleet)", None),
    ("lb-url", "URL of the load balancer frontend to drive traffic through", None),
    ("load-balancer", "name of the scale set's load balancer, for evidence and review", None),
    ("targets", "resilience targets file", "experiments/targets.toml"),
    ("dry-run", "print each experiment's plan and run only the probes; change nothing", False),
    ("users", "Locust users driving traffic", 8),
    ("seed", "seed for random VM selection (recorded in the report)", None),
    ("journal", "fault journal used by `flexchaos rollback`", "reports/journal.jsonl"),
    ("topology", "emulator topology file (TOML)", None),
    ("time-scale", "emulator time scale: wall seconds per platform second", 0.05),
    ("work-dir", "where per-experiment logs, Locust output and charts go", "reports/out"),
]


@dataclass(frozen=True)
class Settings:
    fleet: str
    arm_url: str | None
    subscription: str | None
    resource_group: str | None
    scale_set: str | None
    lb_url: str | None
    load_balancer: str | None
    targets: Path
    dry_run: bool
    users: int
    seed: int | None
    journal: Path
    topology: Path | None
    time_scale: float
    work_dir: Path

    @classmethod
    def from_pytest(cls, config: pytest.Config) -> Settings:
        """Command-line options win over ini settings, which win over the defaults."""
        values: dict[str, Any] = {}
        for name, _help, _default in OPTIONS:
            attr = name.replace("-", "_")
            value = config.getoption(f"flexchaos_{attr}")
            values[attr] = config.getini(f"flexchaos_{attr}") if value is None else value
        return cls.parse(values)

    @classmethod
    def parse(cls, values: dict[str, Any]) -> Settings:
        fleet = str(values["fleet"])
        if fleet not in FLEETS:
            raise FlexchaosError(f"--fleet {fleet!r} is not known; use one of {', '.join(FLEETS)}")
        if fleet == "azure":
            missing = [
                f"--{n}"
                for n in ("subscription", "resource-group", "scale-set", "lb-url")
                if not values[n.replace("-", "_")]
            ]
            if missing:
                raise FlexchaosError(
                    f"--fleet azure needs {', '.join(missing)} (the scale set and its load "
                    "balancer frontend)"
                )
        try:
            users = int(values["users"])
            seed = None if values["seed"] in (None, "") else int(values["seed"])
            time_scale = float(values["time_scale"])
        except ValueError as exc:
            raise FlexchaosError(f"a numeric option has a non-numeric value: {exc}") from None
        if users < 1:
            raise FlexchaosError(f"--users must be at least 1, got {users}")
        return cls(
            fleet=fleet,
            arm_url=values["arm_url"] or None,
            subscription=values["subscription"] or None,
            resource_group=values["resource_group"] or None,
            scale_set=values["scale_set"] or None,
            lb_url=values["lb_url"] or None,
            load_balancer=values["load_balancer"] or None,
            targets=Path(values["targets"]),
            dry_run=str(values["dry_run"]).lower() in ("1", "true", "yes"),
            users=users,
            seed=seed,
            journal=Path(values["journal"]),
            topology=Path(values["topology"]) if values["topology"] else None,
            time_scale=time_scale,
            work_dir=Path(values["work_dir"]),
        )


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("flexchaos", "flexchaos game day")
    for name, help_text, default in OPTIONS:
        attr = name.replace("-", "_")
        if isinstance(default, bool):
            group.addoption(
                f"--{name}",
                action="store_true",
                default=None,
                dest=f"flexchaos_{attr}",
                help=help_text,
            )
            parser.addini(f"flexchaos_{attr}", help_text, type="bool", default=default)
        else:
            group.addoption(f"--{name}", dest=f"flexchaos_{attr}", default=None, help=help_text)
            parser.addini(f"flexchaos_{attr}", help_text, default=default)
