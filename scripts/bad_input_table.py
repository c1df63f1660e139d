"""Write the README's "Bad input" table from the runs of tests/reliability/bad_input.py.

    .venv/bin/python scripts/bad_input_table.py

Starts an emulator, runs every case as a user would (`python -m flexchaos ...`), and replaces
the table between the README's bad-input markers with what each printed. The test
(tests/reliability/test_bad_input.py) fails when the table and the runs disagree.
"""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.reliability_results import update
from emulator.launcher import RunningEmulator
from tests.reliability.bad_input import (
    CASES,
    REPO,
    TIME_SCALE,
    make_files,
    readme_row,
    run_case,
    shown,
)

START, END = "<!-- bad-input:start -->", "<!-- bad-input:end -->"
HEADER = "| case | command | exit | the one line it prints |\n|---|---|---|---|"


def main() -> int:
    with RunningEmulator(time_scale=TIME_SCALE) as emulator, tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        make_files(tmp)
        arm = emulator.info.arm_url
        mark = time.time()
        with ThreadPoolExecutor(max_workers=3) as pool:
            results = list(pool.map(lambda c: run_case(c, arm, tmp, 240.0), CASES))
        log = emulator.client.requests()["log"]
        mutating = sum(
            1 for e in log
            if e["time"] >= mark and e["method"] in ("POST", "PUT", "PATCH", "DELETE")
            and str(e["path"]).startswith("/subscriptions")
        )  # fmt: skip
        rows, bad = [], []
        for result in results:
            lines = result.error_lines()
            if result.code != 2 or not lines or "Traceback" in result.output:
                bad.append(f"{result.case.id}: exit {result.code}\n{result.output[-1500:]}")
                continue
            rows.append(readme_row(result.case, shown(lines[-1], arm, tmp)))
    if mutating:
        bad.append(f"{mutating} mutating call(s) reached the emulator")
    if bad:
        print("not refused as bad input:\n" + "\n\n".join(bad), file=sys.stderr)
        return 1
    readme = REPO / "README.md"
    text = readme.read_text(encoding="utf-8")
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    if not rest:
        print(f"README.md has no {START} marker", file=sys.stderr)
        return 1
    table = "\n".join([HEADER, *rows])
    readme.write_text(f"{before}{START}\n{table}\n{END}{after}", encoding="utf-8")
    update("bad_input", {
        "cases": len(rows),
        "exit_2_one_line_no_traceback": len(rows),
        "mutating_calls": mutating,
        "commands": sorted({c.argv[0] for c in CASES if c.argv}),
    })  # fmt: skip
    print(f"README.md: {len(rows)} bad inputs, each exit 2 and one line")
    return 0


if __name__ == "__main__":
    sys.exit(main())
