"""Run a whole game day as a user would (`flexchaos gameday`, a subprocess) against an emulator
the test started, and read what it ended with: exit code, terminal output, run.json, verdicts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.launcher import RunningEmulator

REPO = Path(__file__).resolve().parents[2]
TARGETS = REPO / "experiments" / "targets.toml"
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class GameDayRun:
    code: int
    stdout: str
    stderr: str
    work_dir: Path

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def verdicts(self) -> dict[str, dict[str, Any]]:
        path = self.work_dir / "verdicts.json"
        data = json.loads(path.read_text()) if path.is_file() else []
        return {v["experiment"]: v for v in data}

    def tail(self) -> str:
        return self.stdout[-4000:] + self.stderr[-2000:]


def experiment_file(tmp_path: Path, name: str, marker: str) -> Path:
    """An experiment module of one test `name` with `@pytest.mark.chaos(<marker>)`."""
    path = tmp_path / f"{name}.py"
    path.write_text(
        "import pytest\n"
        "from fleet.selection import Selection\n\n\n"
        f"@pytest.mark.chaos({marker})\n"
        f"def {name}(game_day):\n"
        "    game_day.run()\n"
    )
    return path


def run_gameday(
    emulator: RunningEmulator | None,
    tmp_path: Path,
    experiments: str | Path,
    *extra: str,
    timeout: float = 300,
) -> GameDayRun:
    """`flexchaos gameday --no-report` on `experiments`, attached to `emulator` (or, when None,
    starting its own from `extra`'s options)."""
    work = tmp_path / "work"
    attach = ["--arm-url", emulator.info.arm_url] if emulator is not None else []
    cmd = [
        sys.executable, "-m", "flexchaos", "gameday", "--no-report",
        "--experiments", str(experiments), "--work-dir", str(work), "--",
        *attach, "--users", "4", *extra,
    ]  # fmt: skip
    done = subprocess.run(
        cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    return GameDayRun(done.returncode, done.stdout, done.stderr, work)


def mutating_calls(emulator: RunningEmulator) -> int:
    log = emulator.client.requests()["log"]
    return sum(1 for r in log if r["method"] in MUTATING and r["path"].startswith("/subscriptions"))
