"""The work dir: one folder, outside the source, where every default output path points."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fleet.journal import DEFAULT_JOURNAL
from flexchaos.cli import main
from flexchaos.workdir import DEFAULT_WORK_DIR, WorkDir


def test_every_default_lives_in_the_work_dir() -> None:
    work = WorkDir()
    assert work.root == DEFAULT_WORK_DIR == Path(".flexchaos")
    assert work.journal == DEFAULT_JOURNAL  # what fleet/ uses when given no journal
    for path in (work.journal, work.experiments, work.verdicts, work.junit, work.results,
                 work.report, work.history, work.trend, work.emulator_log):  # fmt: skip
        assert path.parent == work.root


def test_create_marks_the_folder_as_not_for_git(tmp_path: Path) -> None:
    work = WorkDir(tmp_path / "w").create()
    assert (work.root / ".gitignore").read_text().splitlines()[-1] == "*"
    (work.root / ".gitignore").write_text("mine\n")
    work.create()
    assert (work.root / ".gitignore").read_text() == "mine\n"  # a user's own file stays


def test_rollback_reads_the_work_dirs_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["rollback"]) == 0
    assert "nothing to roll back: no journal at .flexchaos/journal.jsonl" in capsys.readouterr().out
    (tmp_path / "run").mkdir()
    assert main(["rollback", "--work-dir", "run"]) == 0
    assert "no journal at run/journal.jsonl" in capsys.readouterr().out
    (tmp_path / "run" / "journal.jsonl").write_text("")
    assert main(["rollback", "--work-dir", "run"]) == 0  # an empty journal: nothing open
    assert main(["rollback", "--work-dir", "typo"]) == 2
    assert "work dir typo does not exist" in capsys.readouterr().err


def test_report_looks_in_the_work_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "--work-dir", str(tmp_path / "w")]) == 2
    assert f"no Allure results in {tmp_path / 'w' / 'allure-results'}" in capsys.readouterr().err


def test_the_source_tree_holds_no_run_output() -> None:
    repo = Path(__file__).resolve().parents[2]
    ignored = subprocess.run(
        ["git", "check-ignore", ".flexchaos/journal.jsonl"], cwd=repo, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    assert ignored.returncode == 0
    text = "\n".join(p.read_text() for p in (repo / "scripts").glob("*.sh"))
    assert "reports/node_modules" not in text and "--prefix reports" not in text
