"""Issue 12, case 7: nothing judged must never read as a PASS — an empty targets file, a dry
run, an experiment that never runs its game day all end inconclusive (exit 3), never 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.launcher import RunningEmulator
from tests.gate.gameday import REPO, run_gameday


@pytest.fixture(scope="module")
def fleet(start_emulator) -> RunningEmulator:
    return start_emulator()


def test_an_empty_targets_file_is_inconclusive(fleet: RunningEmulator, tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("[defaults]\n")
    run = run_gameday(fleet, tmp_path, REPO / "experiments" / "test_stop_vm.py",
                      "--targets", str(empty))  # fmt: skip
    assert run.code in (2, 3), run.tail()  # refused before the run, or judged nothing
    assert "game day PASSED" not in run.stdout


def test_a_dry_run_is_never_a_pass(fleet: RunningEmulator, tmp_path: Path) -> None:
    run = run_gameday(fleet, tmp_path, REPO / "experiments" / "test_stop_vm.py", "--dry-run")
    assert run.code == 3, run.tail()
    assert run.verdicts()["test_stop_vm"]["state"] == "inconclusive"


def test_an_experiment_that_never_runs_its_game_day_is_inconclusive(
    fleet: RunningEmulator, tmp_path: Path
) -> None:
    path = tmp_path / "test_forgot.py"
    path.write_text(
        "import pytest\n\n\n"
        "@pytest.mark.chaos(fault='stop')\n"
        "def test_forgot(game_day):\n"
        "    pass  # never calls game_day.run()\n"
    )
    run = run_gameday(
        fleet, tmp_path, path, "--targets", str(REPO / "experiments" / "targets.toml")
    )
    assert run.code == 3, run.tail()
    verdict = run.verdicts()["test_forgot"]
    assert verdict["state"] == "inconclusive"
    assert "never ran its game day" in verdict["reason"]
    assert "game day INCONCLUSIVE" in run.stdout


def test_an_experiment_that_crashes_is_a_harness_error(
    fleet: RunningEmulator, tmp_path: Path
) -> None:
    path = tmp_path / "test_crash.py"
    path.write_text(
        "import pytest\n\n\n"
        "@pytest.mark.chaos(fault='stop')\n"
        "def test_crash(game_day):\n"
        "    raise RuntimeError('a bug in the experiment')\n"
    )
    run = run_gameday(
        fleet, tmp_path, path, "--targets", str(REPO / "experiments" / "targets.toml")
    )
    assert run.code == 4, run.tail()
    verdict = run.verdicts()["test_crash"]
    assert verdict["state"] == "error" and "a bug in the experiment" in verdict["reason"]
