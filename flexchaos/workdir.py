"""The work directory: everything a run writes, in one folder outside the source tree.

`.flexchaos/` in the current directory unless `--work-dir` names another. The game day, the
report, rollback and the plugin all derive their default paths from here, so they agree on
where the journal, outputs, verdicts, Allure results and report, history and trend live.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flexchaos.errors import FlexchaosError

DEFAULT_WORK_DIR = Path(".flexchaos")
IGNORE_ALL = "# written by flexchaos: run output, not source\n*\n"


@dataclass(frozen=True)
class WorkDir:
    """Where one run's outputs go; paths only, nothing is created until `create()`."""

    root: Path = DEFAULT_WORK_DIR

    @property
    def journal(self) -> Path:
        """The fault journal (`flexchaos rollback` reads it)."""
        return self.root / "journal.jsonl"

    @property
    def experiments(self) -> Path:
        """One folder per experiment: timeline tables, chart, Locust's output."""
        return self.root / "experiments"

    @property
    def verdicts(self) -> Path:
        return self.root / "verdicts.json"

    @property
    def run_result(self) -> Path:
        """How the last session ended: its exit code, per experiment (flexchaos/run_result.py)."""
        return self.root / "run.json"

    @property
    def junit(self) -> Path:
        return self.root / "junit.xml"

    @property
    def emulator_log(self) -> Path:
        return self.root / "emulator.log"

    @property
    def results(self) -> Path:
        """Allure results (allure-pytest's --alluredir)."""
        return self.root / "allure-results"

    @property
    def report(self) -> Path:
        """The HTML report, rebuilt (emptied first) on every `flexchaos report`."""
        return self.root / "allure-report"

    @property
    def history(self) -> Path:
        """Allure's pass/fail history across runs: keep it (cache it in a pipeline)."""
        return self.root / "history.jsonl"

    @property
    def trend(self) -> Path:
        """Failover and recovery time per experiment across runs: keep it too."""
        return self.root / "trend.jsonl"

    def create(self) -> WorkDir:
        """Make the folder, marked so that git never offers to commit it."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            ignore = self.root / ".gitignore"
            if not ignore.exists():
                ignore.write_text(IGNORE_ALL, encoding="utf-8")
        except OSError as exc:
            raise FlexchaosError(
                f"cannot use {self.root} as the work dir ({exc.strerror or exc}); pass "
                "--work-dir DIR (a folder, created if missing)"
            ) from None
        return self
