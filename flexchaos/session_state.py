"""What the flexchaos pytest plugin keeps for one session (pytest stash keys) and the small
helpers every part of it reads them through: the settings, the session's seed, progress lines.
Kept apart from flexchaos/plugin.py so the hooks and fixtures there stay one screenful each."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from typing import Any

import pytest

from fleet.lease import Lease
from flexchaos.errors import FlexchaosError
from flexchaos.fleet_spec import Fleet
from flexchaos.run_result import RunResult
from flexchaos.settings import Settings

RESULT_KEY = pytest.StashKey[RunResult]()
SETTINGS_KEY = pytest.StashKey[Settings]()
PREVIOUS_SIGTERM_KEY = pytest.StashKey[Any]()
FLEET_KEY = pytest.StashKey[Fleet]()
LEASE_KEY = pytest.StashKey[Lease]()
DESELECTED_KEY = pytest.StashKey[set[str]]()
FAULTS_KEY = pytest.StashKey[list[str]]()  # the selected experiments' faults, for the preflight
SEED_KEY = pytest.StashKey[int]()  # the session's seed: the emulator's VM names, every choice
STARTED_KEY = pytest.StashKey[str]()


def settings_of(config: pytest.Config) -> Settings:
    if SETTINGS_KEY not in config.stash:
        try:
            config.stash[SETTINGS_KEY] = Settings.from_pytest(config)
        except FlexchaosError as exc:
            raise pytest.UsageError(str(exc)) from None
    return config.stash[SETTINGS_KEY]


def session_seed(config: pytest.Config) -> int:
    """`--seed`, or one drawn once for the session: it names a started emulator's VMs and
    seeds every random choice, so printing it is enough to rerun the same choice."""
    if SEED_KEY not in config.stash:
        from fleet.selection import new_seed

        given = settings_of(config).seed
        config.stash[SEED_KEY] = given if given is not None else new_seed()
    return config.stash[SEED_KEY]


def _say(config: pytest.Config, line: str) -> None:
    """Write a progress line to the terminal even while pytest captures output."""
    capture = config.pluginmanager.getplugin("capturemanager")
    guard = capture.global_and_fixture_disabled() if capture else nullcontext()
    with guard:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def preflight(fleet: Fleet, config: pytest.Config) -> None:
    """The read-only checklist (fleet/preflight.py) first: a blocker is bad input (exit 2)."""
    from fleet.preflight import run_preflight

    say = lambda line: _say(config, f"  preflight {line}")  # noqa: E731
    _say(config, f"\n  preflight of {fleet.target.describe()} (read-only)")
    refusal = run_preflight(fleet.target, config.stash.get(FAULTS_KEY, []), say=say).refusal()
    if refusal:
        config.stash[RESULT_KEY].bad_input.append(refusal)
        pytest.exit(refusal, returncode=pytest.ExitCode.USAGE_ERROR)
