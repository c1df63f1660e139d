"""`flexchaos gameday` end to end against an emulator: verdicts, exit codes, dry run, bad input.

Each test runs the real command (pytest, Locust, the SDK) as a subprocess attached to this
module's emulator, and reads the emulator's request log to see what was (not) changed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.launcher import RunningEmulator

REPO = Path(__file__).resolve().parents[2]
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


def mutating_calls(emulator: RunningEmulator) -> int:
    """Calls that could change something. The load balancer's health query is a POST that only
    reads (`…/loadBalancingRules/{rule}/health`: the routing probe's), so it is not one."""
    log = emulator.client.requests()["log"]
    return sum(
        1
        for r in log
        if r["method"] in MUTATING
        and r["path"].startswith("/subscriptions")
        and not r["path"].endswith("/health")
    )


def gameday(
    emulator: RunningEmulator, tmp_path: Path, *extra: str, experiment: str = "test_stop_vm"
) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable, "-m", "flexchaos", "gameday", "--no-report",
        "--experiments", str(REPO / "experiments" / f"{experiment}.py"),
        "--results", str(tmp_path / "allure-results"), "--work-dir", str(tmp_path / "out"),
        "--", "--arm-url", emulator.info.arm_url, "--journal", str(tmp_path / "journal.jsonl"),
        "--users", "4", *extra,
    ]  # fmt: skip
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=240, check=False)


@pytest.fixture(scope="module")
def fleet(start_emulator) -> RunningEmulator:
    """At the default time scale: the 5 s probe interval is 0.25 s wall, which the capacity
    listings and the default load resolve (at 0.02 it would be 0.1 s: too fine to judge)."""
    return start_emulator(time_scale=0.05)


def test_targets_too_strict_exit_1_and_name_the_missed_target(fleet, tmp_path: Path) -> None:
    strict = tmp_path / "strict.toml"
    strict.write_text("[defaults]\nmin_healthy_capacity = 1.0\nmax_error_rate = 0.5\n")
    run = gameday(fleet, tmp_path, "--targets", str(strict))
    assert run.returncode == 1, run.stdout[-3000:] + run.stderr[-2000:]
    out = run.stdout
    assert "Missed resilience targets: min_healthy_capacity: measured 0.833" in out
    # the closing table: one row per experiment, each figure against its limit
    assert "test_stop_vm  stop   MISSED  ✗ 83% ≥ 100%" in out
    assert "test_stop_vm: min_healthy_capacity: measured 0.833" in out
    assert (tmp_path / "out" / "junit.xml").is_file()
    assert any((tmp_path / "allure-results").glob("*-result.json"))
    # the fault was reverted: the journal has the lease, one injected entry, its landing and
    # its revert
    from fleet.journal import Journal

    records = Journal(tmp_path / "journal.jsonl").records()
    assert [r["record"] for r in records] == ["leased", "injected", "landed", "reverted"]


def test_met_targets_exit_0_with_the_verdict_table(fleet, tmp_path: Path) -> None:
    """Run from another folder with no output options: everything lands in its .flexchaos/.
    The default load: enough new flows per VM per probe interval for every target to be judged."""
    cmd = [
        sys.executable, "-m", "flexchaos", "gameday", "--no-report",
        "--experiments", str(REPO / "experiments" / "test_stop_vm.py"), "--",
        "--arm-url", fleet.info.arm_url,
        "--targets", str(REPO / "experiments" / "targets.toml"),
    ]  # fmt: skip
    run = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "test_stop_vm: PASSED" in run.stdout
    assert run.stdout.rstrip().splitlines()[-1] == "game day PASSED, exit 0"
    # the closing summary is printed once, after the report line, with what exit 0 means
    assert run.stdout.count("game day PASSED, exit 0") == 1
    assert run.stdout.count("vs previous run") == 1
    assert "1 experiments: 1 met, 0 missed, 0 inconclusive, 0 error" in run.stdout
    assert "run: fleet emulator · subscription " in run.stdout  # the run's identity
    assert "rerun exactly this experiment: flexchaos gameday" in run.stdout
    assert "Exit 0: every experiment ran, its fault was proved" in run.stdout
    # the hypothesis is shown with what judges it
    assert "Judged by: healthy capacity ≥ 80 %, " in run.stdout
    assert "failover time ≤ 30 s" in run.stdout
    work = tmp_path / ".flexchaos"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".flexchaos"]
    assert (work / "junit.xml").is_file() and (work / "verdicts.json").is_file()
    assert any((work / "allure-results").glob("*-result.json"))
    assert (work / "experiments" / "test_stop_vm" / "timeline.png").is_file()
    assert '"reverted"' in (work / "journal.jsonl").read_text()


def test_dry_run_prints_the_plan_and_mutates_nothing(fleet, tmp_path: Path) -> None:
    before = mutating_calls(fleet)
    run = gameday(fleet, tmp_path, "--dry-run")
    assert run.returncode == 3, run.stdout[-3000:] + run.stderr[-2000:]  # never a PASS
    assert "plan: stop on scale set 'vmss-web'" in run.stdout
    assert "begin_power_off" in run.stdout and "begin_start" in run.stdout
    assert "dry run: the plan was printed; nothing was injected or judged" in run.stdout
    assert "game day INCONCLUSIVE (nothing may pass on it), exit 3" in run.stdout
    assert mutating_calls(fleet) == before


@pytest.mark.parametrize(
    ("targets_text", "expected"),
    [
        ("[defaults]\nmax_error_rate = 1.5\n", "max_error_rate"),
        ("[defaults]\nmax_failover_s = 30\n", "max_failover_s"),
        ("[defaults\n", "TOML"),
    ],
)
def test_malformed_targets_file_is_one_line_and_changes_nothing(
    fleet, tmp_path: Path, targets_text: str, expected: str
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(targets_text)
    before = mutating_calls(fleet)
    run = gameday(fleet, tmp_path, "--targets", str(bad))
    assert run.returncode == 2, run.stdout[-2000:] + run.stderr[-2000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and expected in errors[0] and str(bad) in errors[0]
    assert mutating_calls(fleet) == before


def test_guard_refusal_is_one_line_and_touches_no_vm(fleet, tmp_path: Path) -> None:
    scenario = tmp_path / "test_evict_regular.py"
    scenario.write_text(
        "import pytest\n"
        "from fleet.selection import Selection\n\n\n"
        "@pytest.mark.chaos(fault='evict', select=Selection(count=1, priority='Regular'))\n"
        "def test_evict_regular(game_day):\n"
        "    game_day.run()\n"
    )
    before = mutating_calls(fleet)
    cmd = [
        sys.executable, "-m", "flexchaos", "gameday", "--no-report",
        "--experiments", str(scenario), "--results", str(tmp_path / "results"),
        "--work-dir", str(tmp_path / "out"), "--",
        "--arm-url", fleet.info.arm_url, "--journal", str(tmp_path / "journal.jsonl"),
        "--targets", str(REPO / "experiments" / "targets.toml"),
    ]  # fmt: skip
    summary = tmp_path / "job-summary.md"
    run = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary)},
    )  # fmt: skip
    assert run.returncode == 2, run.stdout[-3000:]  # bad input, nothing touched
    job = summary.read_text()
    assert job.startswith("## flexchaos game day: BAD INPUT (refused before its fault), exit 2")
    assert "- bad input: test_evict_regular: guard refused (spot_only)" in job
    assert "game day BAD INPUT (refused before its fault), exit 2" in run.stdout  # closing summary
    refusals = [line for line in run.stdout.splitlines() if "guard refused (spot_only)" in line]
    assert refusals and "Traceback" not in run.stdout
    assert mutating_calls(fleet) == before
    assert (
        not (tmp_path / "journal.jsonl").exists()
        or not (tmp_path / "journal.jsonl").read_text().strip()
    )


def test_ctrl_c_during_the_hold_reverts_and_stops_the_game_day(fleet, tmp_path: Path) -> None:
    """A terminal's Ctrl-C (SIGINT to the whole process group) while a VM is stopped."""
    import os
    import signal
    import threading

    from fleet.inventory import Inventory
    from fleet.journal import Journal
    from fleet.target import FleetTarget
    from tests.waiting import wait_for

    scenario = tmp_path / "test_long_stop.py"
    scenario.write_text(
        "import pytest\n"
        "from fleet.selection import Selection\n\n\n"
        "@pytest.mark.chaos(fault='stop', select=Selection(count=1), hold_s=3000)\n"
        "def test_long_stop(game_day):\n"
        "    game_day.run()\n\n\n"
        "def test_never_reached():\n"
        "    raise AssertionError('the game day went on after Ctrl-C')\n"
    )
    journal = tmp_path / "journal.jsonl"
    cmd = [
        sys.executable, "-m", "flexchaos", "gameday", "--no-report",
        "--experiments", str(scenario), "--results", str(tmp_path / "results"),
        "--work-dir", str(tmp_path / "out"), "--",
        "--arm-url", fleet.info.arm_url, "--journal", str(journal), "--users", "4",
        "--targets", str(REPO / "experiments" / "targets.toml"),
    ]  # fmt: skip
    process = subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        wait_for(
            lambda: any("→ fault (hold)" in line for line in lines), timeout=90, what="the hold"
        )
        os.killpg(process.pid, signal.SIGINT)
        code = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    reader.join(timeout=5)
    out = "".join(lines)
    assert code == 130, out[-3000:]
    assert "faults reverted, stopping the game day" in out
    assert "the game day went on after Ctrl-C" not in out
    assert Journal(journal).open_entries() == []
    target = FleetTarget.from_emulator(fleet.info)
    wait_for(
        lambda: all(i.running for i in Inventory(target).instances()),
        timeout=30,
        what="every VM running again",
    )


def _write_scenario(tmp_path: Path, marker: str) -> Path:
    scenario = tmp_path / "test_custom.py"
    scenario.write_text(
        "import pytest\n"
        "from fleet.selection import Selection\n\n\n"
        f"@pytest.mark.chaos({marker})\n"
        "def test_custom(game_day):\n"
        "    game_day.run()\n"
    )
    return scenario


def _gameday_cmd(fleet: RunningEmulator, tmp_path: Path, scenario: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "flexchaos", "gameday", "--no-report",
        "--experiments", str(scenario), "--results", str(tmp_path / "results"),
        "--work-dir", str(tmp_path / "out"), "--",
        "--arm-url", fleet.info.arm_url, "--journal", str(tmp_path / "journal.jsonl"),
        "--users", "4", "--targets", str(REPO / "experiments" / "targets.toml"), *extra,
    ]  # fmt: skip


def test_an_abort_condition_fails_the_experiment(fleet, tmp_path: Path) -> None:
    scenario = _write_scenario(
        tmp_path, "fault='stop', select=Selection(count=1), abort_capacity_floor=0.9"
    )
    run = subprocess.run(
        _gameday_cmd(fleet, tmp_path, scenario), cwd=REPO, capture_output=True, text=True,
        timeout=240, check=False,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout[-3000:]
    assert "abort: healthy capacity 83% under the floor 90%" in run.stdout
    assert "abort_conditions: measured 1, limit <= 0 (hold aborted" in run.stdout
    why = [x for x in run.stdout.splitlines() if x.startswith("test_custom: ")]  # closing table
    assert why and "abort_conditions: measured 1, limit <= 0" in why[-1]


def test_sigterm_during_the_baseline_stops_everything(fleet, tmp_path: Path) -> None:
    import signal
    import threading

    from tests.waiting import wait_for

    scenario = _write_scenario(tmp_path, "fault='stop', baseline_s=3000")
    process = subprocess.Popen(
        _gameday_cmd(fleet, tmp_path, scenario), cwd=REPO, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout or []), daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("] baseline " in x for x in lines), timeout=90, what="the baseline")
        process.send_signal(signal.SIGTERM)  # a cancelled pipeline: to the gameday command
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail("no exit 60 s after SIGTERM:\n" + "".join(lines)[-3000:])
    finally:
        if process.poll() is None:
            process.kill()
    reader.join(timeout=5)
    assert code == 130, "".join(lines)[-3000:]

    def leftovers() -> list[str]:
        found = subprocess.run(
            ["pgrep", "-f", str(tmp_path)], capture_output=True, text=True, check=False
        )
        return found.stdout.split()

    wait_for(lambda: not leftovers(), timeout=20, what="Locust and the probes to be gone")


def test_no_matching_experiment_is_bad_input(fleet, tmp_path: Path) -> None:
    run = gameday(fleet, tmp_path, "-k", "no_such_experiment")
    assert run.returncode == 2
    assert "no experiment matched" in run.stdout


def test_rollback_without_any_journal_is_nothing_to_do(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "flexchaos", "rollback"], cwd=tmp_path, capture_output=True,
        text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0 and "nothing to roll back" in run.stdout
    explicit = subprocess.run(
        [sys.executable, "-m", "flexchaos", "rollback", "--journal", "typo.jsonl"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert explicit.returncode == 2 and "does not exist" in explicit.stderr


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        ("fault='stopp'", "unknown fault 'stopp'; did you mean 'stop'?"),
        ("fault='stop', options={'colour': 'red'}", "fault stop has no option colour"),
        ("fault='chaos-shutdown', hold_s=13 * 3600", "at most 43200 s (12 h)"),
    ],
)
def test_a_bad_fault_exits_2_before_anything_starts(
    tmp_path: Path, marker: str, expected: str
) -> None:
    """No --arm-url: the game day would start its own emulator, but collection stops it first."""
    scenario = _write_scenario(tmp_path, marker)
    cmd = [
        sys.executable, "-m", "flexchaos", "gameday", "--no-report",
        "--experiments", str(scenario), "--results", str(tmp_path / "results"),
        "--work-dir", str(tmp_path / "out"), "--", "--journal", str(tmp_path / "journal.jsonl"),
    ]  # fmt: skip
    run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-2000:]
    assert expected in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    assert not (tmp_path / "out" / "emulator.log").exists()  # no emulator was started
    assert not (tmp_path / "journal.jsonl").exists()


def _refused_at_collection(tmp_path: Path, scenario: Path, *extra: str) -> str:
    """Run the game day with no --arm-url (it would start an emulator) and return its one
    error line, after checking exit 2 and that nothing was started or journaled."""
    cmd = [
        sys.executable, "-m", "flexchaos", "gameday", "--no-report",
        "--experiments", str(scenario), "--results", str(tmp_path / "results"),
        "--work-dir", str(tmp_path / "out"), "--", "--journal", str(tmp_path / "journal.jsonl"),
        *extra,
    ]  # fmt: skip
    run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-2000:]
    errors = [line for line in run.stderr.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1 and "Traceback" not in run.stdout + run.stderr, run.stderr
    assert not (tmp_path / "out" / "emulator.log").exists()  # no emulator was started
    assert not (tmp_path / "journal.jsonl").exists()
    return errors[0]


def test_a_targets_section_that_names_no_experiment_is_bad_input(tmp_path: Path) -> None:
    targets = tmp_path / "targets.toml"
    shipped = (REPO / "experiments" / "targets.toml").read_text()
    targets.write_text(shipped + "\n[experiments.test_stop_mv]\nmax_failover_time_s = 10\n")
    line = _refused_at_collection(
        tmp_path, REPO / "experiments" / "test_stop_vm.py", "--targets", str(targets)
    )
    assert "[experiments.test_stop_mv] names no experiment" in line
    assert line.endswith("did you mean test_stop_vm?")


def test_an_experiment_with_no_target_is_bad_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty.toml"
    empty.write_text("# nothing yet\n")
    scenario = _write_scenario(tmp_path, "fault='stop'")
    line = _refused_at_collection(tmp_path, scenario, "--targets", str(empty))
    assert f"{empty}: test_custom has no target to judge" in line


def test_a_limit_under_the_topologys_probe_floor_is_bad_input(tmp_path: Path) -> None:
    topology = tmp_path / "slow-probe.toml"
    topology.write_text("[load_balancer]\nprobe_interval_in_seconds = 15\nprobe_threshold = 2\n")
    targets = tmp_path / "targets.toml"
    targets.write_text("[defaults]\nmax_failover_time_s = 20\nmax_error_rate = 0.05\n")
    scenario = _write_scenario(tmp_path, "fault='stop'")
    line = _refused_at_collection(
        tmp_path, scenario, "--targets", str(targets), "--topology", str(topology)
    )
    assert "test_custom: max_failover_time_s = 20 s is below what the fleet can detect" in line
    assert "every 15 s x threshold 2 = 30 s" in line


def test_a_hypothesis_its_targets_contradict_is_bad_input(tmp_path: Path) -> None:
    scenario = _write_scenario(
        tmp_path, "fault='stop', hypothesis='One VM stops with no user-visible errors.'"
    )
    targets = REPO / "experiments" / "targets.toml"
    line = _refused_at_collection(tmp_path, scenario, "--targets", str(targets))
    assert 'test_custom: the hypothesis claims "no user-visible errors"' in line
    assert "max_error_rate = 0.05 allows errors" in line


def test_a_subset_run_still_knows_the_deselected_experiments(tmp_path: Path) -> None:
    """-k runs one experiment of a file; the targets' sections for the others are not typos."""
    folder = tmp_path / "game"
    folder.mkdir()
    (folder / "test_two.py").write_text(
        "import pytest\n\n\n"
        "@pytest.mark.chaos(fault='stop')\ndef test_alpha(game_day):\n    game_day.run()\n\n\n"
        "@pytest.mark.chaos(fault='deallocate')\ndef test_beta(game_day):\n    game_day.run()\n"
    )
    targets = tmp_path / "elsewhere" / "targets.toml"
    targets.parent.mkdir()
    targets.write_text(
        "[defaults]\nmax_error_rate = 0.05\n[experiments.test_beta]\nmax_failover_time_s = 30\n"
    )
    cmd = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
           str(folder / "test_two.py"), "-k", "alpha", "--targets", str(targets)]  # fmt: skip
    run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    targets.write_text(targets.read_text() + "[experiments.test_gamma]\nmax_error_rate = 0.1\n")
    run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 4 and "[experiments.test_gamma] names no experiment" in run.stderr


def test_on_an_attached_fleet_the_preflight_checks_the_load_balancer(
    start_emulator, tmp_path: Path
) -> None:
    """Attached (as on Azure), the probe is known only once the preflight has read the load
    balancer: the limit it cannot meet is bad input there, before any fault."""
    slow = start_emulator(
        topology="[load_balancer]\nprobe_interval_in_seconds = 15\nprobe_threshold = 2\n",
        time_scale=0.02,
    )
    targets = tmp_path / "targets.toml"
    targets.write_text("[defaults]\nmax_failover_time_s = 20\nmax_error_rate = 0.05\n")
    scenario = _write_scenario(tmp_path, "fault='stop', select=Selection(count=1)")
    summary = tmp_path / "job-summary.md"
    cmd = _gameday_cmd(slow, tmp_path, scenario, "--targets", str(targets))  # the last wins
    run = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=240, check=False,
        env={**os.environ, "GITHUB_STEP_SUMMARY": str(summary)},
    )  # fmt: skip
    assert run.returncode == 2, run.stdout[-3000:] + run.stderr[-2000:]
    assert "max_failover_time_s = 20 s is below what the fleet can detect" in run.stdout
    assert mutating_calls(slow) == 0
    assert not (tmp_path / "journal.jsonl").exists()
    text = summary.read_text()
    assert "BAD INPUT (refused before its fault), exit 2" in text and "Who to call" in text
