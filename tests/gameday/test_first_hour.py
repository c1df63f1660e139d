"""What a newcomer meets first: `gameday --help` lists the experiment options, an option put
before `--` gets a hint, near misses get a suggestion, the same seed picks the same VMs, and a
dry run keeps out of the real report and history."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from flexchaos.cli import main
from flexchaos.commands.gameday_help import (
    EXPERIMENT_OPTIONS,
    misplaced,
    scratch_kind,
    suggest_experiment,
    suggest_option,
)

REPO = Path(__file__).resolve().parents[2]


def test_help_lists_the_experiment_options_and_every_gameday_option(capsys) -> None:
    try:
        main(["gameday", "--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    assert "experiment options (after --" in out
    for option in EXPERIMENT_OPTIONS:
        assert f"--{option.name}" in out.split("experiment options")[1], option.name
    own = out.split("experiment options")[0]
    for flag in ("--results DIR", "--report DIR", "--work-dir"):
        line = next(line for line in own.splitlines() if line.strip().startswith(flag))
        assert len(line.split(flag, 1)[1].strip()) > 10, f"{flag} has no help"


def test_an_experiment_option_before_the_dashes_gets_a_hint(capsys) -> None:
    assert main(["gameday", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        "flexchaos gameday: --dry-run is an experiment option: put it after --, e.g. "
        "`flexchaos gameday -- --dry-run`"
    )
    assert misplaced(["--seed", "7", "--", "-k", "stop"]) is not None
    assert misplaced(["--work-dir", "x", "--", "--dry-run"]) is None


def test_near_misses_get_a_suggestion() -> None:
    assert suggest_option(["--sed", "7"]) == (
        "flexchaos gameday: unknown option --sed; did you mean --seed?"
    )
    assert suggest_option(["--dry-run", "-k", "x"]) is None
    hint = suggest_experiment(["-k", "test_stop_mv"], str(REPO / "experiments"))
    assert hint is not None and hint.endswith("did you mean test_stop_vm?")
    missing = suggest_experiment([], str(REPO / "experiments" / "test_zone_dwn.py"))
    assert missing is not None and missing.endswith("test_zone_down.py?")


def test_dry_and_ad_hoc_runs_are_kept_apart() -> None:
    assert scratch_kind(["--dry-run"], "experiments") == "dry-run"
    assert scratch_kind(["-k", "stop"], "experiments") == "ad-hoc"
    assert scratch_kind([], "experiments/test_stop_vm.py::test_stop_vm") == "ad-hoc"
    assert scratch_kind(["--seed", "7"], "experiments") is None


def test_the_same_seed_picks_the_same_vms_and_a_dry_run_keeps_out_of_history(
    tmp_path: Path, start_emulator
) -> None:
    """Each dry run starts its own emulator: its VM names come from the seed."""
    work = tmp_path / "work"
    (work / "allure-report").mkdir(parents=True)
    (work / "allure-report" / "index.html").write_text("the last real report")
    (work / "history.jsonl").write_text('{"a real run": 1}\n')
    chosen = []
    for run_number, seed in enumerate(("7", "7")):
        report = shutil.which("node") is not None and run_number == 1
        cmd = [
            sys.executable, "-m", "flexchaos", "gameday", "--work-dir", str(work),
            "--experiments", str(REPO / "experiments" / "test_stop_vm.py"),
            *([] if report else ["--no-report"]),
            "--", "--dry-run", "--seed", seed, "--users", "4",
        ]  # fmt: skip
        run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=240)
        assert run.returncode == 3, run.stdout[-3000:] + run.stderr[-2000:]
        match = re.search(r"\[test_stop_vm\] seed (\d+): (\S+) chosen", run.stdout)
        assert match and match.group(1) == seed, run.stdout[-3000:]
        chosen.append(match.group(2))
        assert "rerun exactly this experiment: flexchaos gameday --experiments " in run.stdout
        assert f"-- --seed {seed} --users 4 --dry-run" in run.stdout
    assert chosen[0] == chosen[1]
    # another seed, other names: the emulator's own record of the VMs it created
    names = {
        seed: [e["vm"] for e in start_emulator(args=["--seed", seed]).client.truth("vm_created")]
        for seed in ("7", "8")
    }
    assert chosen[0] in names["7"] and not set(names["7"]) & set(names["8"])
    # the real report and history are untouched; the dry run has its own folder
    assert (work / "allure-report" / "index.html").read_text() == "the last real report"
    assert (work / "history.jsonl").read_text() == '{"a real run": 1}\n'
    assert (work / "dry-run" / "allure-results").is_dir()
    if shutil.which("node") is not None:
        assert (work / "dry-run" / "allure-report" / "index.html").is_file()
