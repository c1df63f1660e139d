"""Game-day settings, from pytest's command line or ini (pytest.ini, [tool.pytest.ini_options]).

One object so that the plugin, the `flexchaos gameday` command and the experiments agree on
what a run targets and how hard it may push. The fleet options are the commands' own
(flexchaos.fleet_spec); the options here matter only to a game day.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from flexchaos.errors import FlexchaosError
from flexchaos.fleet_spec import FLEET_OPTIONS, FleetSpec
from flexchaos.options import Option, add_to_pytest, from_pytest, switch, text
from flexchaos.workdir import DEFAULT_WORK_DIR, WorkDir

# The default load is sized so that the default game day is fully judged: failover is judged only
# with at least 15 new flows per target VM per load-balancer probe interval during the fault
# (probes/evidence.py). Default fleet: 6 VMs, a 5 s probe, the emulator at time scale 0.05, so
# one interval is 0.25 s wall and the fleet needs 15 × 6 / 0.25 = 360 requests/s. 20 users at
# 25 requests/s each (lifecycle.RunOptions.rps_per_user) measured ~480 requests/s here, plus the
# 50 Hz traffic probe: ~530 requests/s, ~22 flows per VM per interval — room for a busy machine.
# On Azure (time scale 1) the same interval is 5 s wall, so far fewer users would do.
DEFAULT_USERS = 20

RUN_OPTIONS: tuple[Option, ...] = (
    Option("targets", "resilience targets file", "experiments/targets.toml", metavar="FILE"),
    Option(
        "dry-run",
        "print each experiment's plan and run only the probes; change nothing",
        False,
        switch=True,
    ),
    Option(
        "users", "Locust users driving traffic (25 requests/s each)", DEFAULT_USERS, metavar="N"
    ),
    Option(
        "seed",
        "seed of the run: names the VMs of the emulator started for it and seeds every random "
        "VM choice (drawn and printed when not given; recorded in the report)",
        metavar="N",
    ),
    Option(
        "journal",
        "fault journal that `flexchaos rollback` reads (default: journal.jsonl in the work dir)",
        metavar="PATH",
    ),
    Option(
        "work-dir",
        "where the run writes its journal, per-experiment outputs and verdicts",
        str(DEFAULT_WORK_DIR),
        metavar="DIR",
    ),
    # On by default; `flexchaos gameday` passes `-o flexchaos_closing_summary=false` because
    # it prints the closing summary itself, once, after the report.
    Option(
        "closing-summary",
        "end the session with the verdicts summary (ini flexchaos_closing_summary, default on)",
        True,
        switch=True,
    ),
)


@dataclass(frozen=True)
class Settings:
    """A game day's settings, checked: the fleet, the targets, the load and where output goes."""

    fleet_spec: FleetSpec
    targets: Path
    dry_run: bool
    users: int
    seed: int | None
    journal: Path
    work_dir: WorkDir
    closing_summary: bool = True

    @classmethod
    def from_pytest(cls, config: pytest.Config) -> Settings:
        """Command-line options win over ini settings, which win over the defaults."""
        return cls.parse(from_pytest(config, RUN_OPTIONS), FleetSpec.from_pytest(config))

    @classmethod
    def parse(cls, values: dict[str, Any], fleet_spec: FleetSpec) -> Settings:
        users = _integer(values, "users")
        if users is None or users < 1:
            raise FlexchaosError(f"--users must be at least 1, got {text(values, 'users')}")
        work_dir = WorkDir(Path(_given(values, "work_dir")))
        journal = Path(text(values, "journal") or work_dir.journal)
        _check_writable(journal)
        return cls(
            fleet_spec=fleet_spec,
            targets=Path(_given(values, "targets")),
            dry_run=switch(values, "dry_run"),
            users=users,
            seed=_integer(values, "seed"),
            journal=journal,
            work_dir=work_dir,
            closing_summary=switch(values, "closing_summary"),
        )


def add_options(parser: pytest.Parser) -> None:
    """The game day's options and ini keys: the fleet's, then the run's."""
    add_to_pytest(parser, (*FLEET_OPTIONS, *RUN_OPTIONS))


def _given(values: dict[str, Any], key: str) -> str:
    """The value, or the option's default when an ini key was left empty."""
    return text(values, key) or str(next(o.default for o in RUN_OPTIONS if o.key == key))


def _integer(values: dict[str, Any], key: str) -> int | None:
    value = text(values, key)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        flag = "--" + key.replace("_", "-")
        raise FlexchaosError(f"{flag} must be a whole number, got {value!r}") from None


def _check_writable(journal: Path) -> None:
    """The journal is written before every fault: a path that cannot be written is bad input
    now, not a harness error at the first injection. Nothing is created but its folder."""
    if journal.is_dir():
        raise FlexchaosError(f"--journal {journal} is a directory; pass a file path")
    try:
        if journal.exists():
            os.close(os.open(journal, os.O_WRONLY | os.O_APPEND))
        else:
            journal.parent.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=journal.parent).close()
    except OSError as exc:
        raise FlexchaosError(
            f"cannot write the journal {journal} ({exc.strerror or exc}); pass --journal PATH "
            "on a writable disk"
        ) from None
