"""Every bad input of every option: exit 2, one line, no traceback, nothing changed — and the
README's "Bad input" table shows exactly the line each case prints (tests/reliability/
bad_input.py holds the cases; scripts/bad_input_table.py rewrites the table).

The game day cases run as the command does (pytest in a child process); the others run
in-process through the same `flexchaos.cli.main`, which keeps this test cheap.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from emulator.launcher import RunningEmulator
from flexchaos.cli import main
from tests.fleet.support import mutating_calls_since
from tests.reliability.bad_input import (
    CASES,
    REPO,
    TIME_SCALE,
    Case,
    Result,
    is_gameday,
    make_files,
    max_lines,
    readme_row,
    run_case,
    shown,
)


@contextmanager
def environment(extra: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_in_process(case: Case, arm_url: str, tmp: Path) -> Result:
    argv = [a.replace("{arm}", arm_url).replace("{tmp}", str(tmp)) for a in case.argv]
    out, err = io.StringIO(), io.StringIO()
    with environment(dict(case.env)), redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
    return Result(case, code, out.getvalue(), err.getvalue())


@pytest.fixture(scope="module")
def fleet(start_emulator) -> RunningEmulator:
    return start_emulator(time_scale=TIME_SCALE)


@pytest.fixture(scope="module")
def runs(
    fleet: RunningEmulator, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Result], list[dict[str, object]], Path]:
    emulator = fleet
    tmp = tmp_path_factory.mktemp("bad-input")
    make_files(tmp)
    arm = emulator.info.arm_url
    mark = time.time()
    with ThreadPoolExecutor(max_workers=2) as pool:  # the game days run while the rest do
        games = {
            c.id: pool.submit(run_case, c, arm, tmp, 240.0) for c in CASES if is_gameday(c)
        }
        results = {c.id: run_in_process(c, arm, tmp) for c in CASES if not is_gameday(c)}
        results |= {key: future.result() for key, future in games.items()}
    return results, mutating_calls_since(emulator.client, mark), tmp


@pytest.mark.timeout(1200)  # the first case runs them all (~25 s idle; far more on a busy box)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(case: Case, runs, fleet) -> None:
    results, mutating, tmp = runs
    result = results[case.id]
    tail = result.output[-2500:]
    assert result.code == 2, tail
    assert "Traceback" not in result.output, tail
    lines = result.error_lines()
    assert 1 <= len(lines) <= max_lines(case), tail
    assert mutating == [], mutating  # no case reached the fleet with a change
    row = readme_row(case, shown(lines[-1], fleet.info.arm_url, tmp))
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert row in readme, f"README's Bad input table is stale (scripts/bad_input_table.py):\n{row}"
