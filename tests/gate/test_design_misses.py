"""The gate's catalogue of designs that miss: fleets whose topology cannot meet the default
targets must end non-zero with the right category — a missed target (exit 1) names it.

Each runs the real game day against an emulator built from a topology that carries the flaw.
"""

from __future__ import annotations

from pathlib import Path

from tests.gate.gameday import REPO, mutating_calls, run_gameday

EXPERIMENTS = REPO / "experiments"


def test_repairs_off_never_heal_a_broken_extension(start_emulator, tmp_path: Path) -> None:
    fleet = start_emulator("[automatic_repairs]\nenabled = false\n")
    run = run_gameday(fleet, tmp_path, EXPERIMENTS / "test_broken_health_extension.py")
    assert run.code == 1, run.tail()
    verdict = run.verdicts()["test_broken_health_extension"]
    assert verdict["state"] == "failed"
    [recovery] = [r for r in verdict["rows"] if r["target"] == "max_recovery_time_s"]
    assert recovery["measured"] == "inf" and recovery["passed"] is False  # never ended
    assert "never ended" in run.stdout


def test_a_slow_vm_start_misses_the_recovery_target(start_emulator, tmp_path: Path) -> None:
    fleet = start_emulator("[timings]\nstart = 400\n")
    run = run_gameday(fleet, tmp_path, EXPERIMENTS / "test_stop_vm.py")
    assert run.code == 1, run.tail()
    verdict = run.verdicts()["test_stop_vm"]
    missed = [r["target"] for r in verdict["rows"] if not r["passed"]]
    assert "max_recovery_time_s" in missed, verdict
    assert "Missed resilience targets: max_recovery_time_s" in run.stdout


def test_one_zone_cannot_survive_a_zone_outage(start_emulator, tmp_path: Path) -> None:
    """Zone down on a one-zone set would take every VM: the guard refuses it before any call
    (exit 2: this experiment cannot run safely on this design)."""
    fleet = start_emulator('[scale_set]\nzones = ["1"]\n')
    before = mutating_calls(fleet)
    run = run_gameday(fleet, tmp_path, EXPERIMENTS / "test_zone_down.py")
    assert run.code == 2, run.tail()
    assert "guard refused (max_unavailable)" in run.output and "6 of 6" in run.output
    assert mutating_calls(fleet) == before


def test_no_health_extension_fails_the_design_review(start_emulator, tmp_path: Path) -> None:
    fleet = start_emulator("[health_extension]\nenabled = false\n")
    run = run_gameday(fleet, tmp_path, EXPERIMENTS / "test_design_review.py")
    assert run.code == 1, run.tail()
    assert "health" in run.stdout.lower() and "design review failed" in run.stdout.lower()
    assert "[ ] health extension (fail, severity high)" in run.stdout  # the checklist


def test_no_health_extension_cannot_break_one(start_emulator, tmp_path: Path) -> None:
    """Asking to break an extension the fleet lacks is bad input: one line, nothing touched."""
    fleet = start_emulator("[health_extension]\nenabled = false\n")
    run = run_gameday(fleet, tmp_path, EXPERIMENTS / "test_broken_health_extension.py")
    assert run.code == 2, run.tail()
    assert "has no Application Health extension" in run.output
    assert (
        not (tmp_path / "work" / "journal.jsonl").exists()
        or not (tmp_path / "work" / "journal.jsonl").read_text().strip()
    )
