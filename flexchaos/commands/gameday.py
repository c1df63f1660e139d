"""`flexchaos gameday`: run the experiments under pytest, then build the HTML report.

The experiments are ordinary pytest tests (experiments/); this command only chooses sensible
outputs — Allure results, JUnit XML, the verdicts, all in the work dir (`.flexchaos/` unless
--work-dir says otherwise) — and ends with the report's path and the verdict table, so a
person at a terminal and a pipeline read the same thing. It exits with the code the session
recorded (flexchaos/run_result.py): 0 every target met, 1 a target missed, 2 bad input,
3 inconclusive, 4 harness error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from flexchaos.errors import FlexchaosError
from flexchaos.run_result import BAD_INPUT, INTERRUPTED_EXIT, read_exit_code, read_problems
from flexchaos.workdir import DEFAULT_WORK_DIR, WorkDir

HELP = "Run the game day (experiments/) on the emulator or Azure, then build the report."
USAGE_ERROR = 4  # pytest's exit codes: a usage error, an interrupted session
INTERRUPTED = 2
NO_TESTS = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--experiments", default="experiments",
        help="pytest path(s) of the experiments to run (default: experiments)",
    )  # fmt: skip
    parser.add_argument(
        "--work-dir", type=Path, default=DEFAULT_WORK_DIR,
        help="where the run writes everything: journal, outputs, verdicts, JUnit XML, Allure "
        f"results and report, history and trend (default {DEFAULT_WORK_DIR})",
    )  # fmt: skip
    parser.add_argument(
        "--results", type=Path, help="Allure results (default: allure-results in the work dir)"
    )
    parser.add_argument(
        "--report", type=Path, help="HTML report folder (default: allure-report in the work dir)"
    )
    parser.add_argument(
        "--no-report", action="store_true", help="skip the HTML report (Allure results only)"
    )
    parser.add_argument(
        "pytest_args", nargs=argparse.REMAINDER,
        help="more pytest/flexchaos options after --, e.g. -- --dry-run --targets FILE -k stop",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    extra = [a for a in args.pytest_args if a != "--"]
    work = WorkDir(args.work_dir).create()
    results: Path = args.results or work.results
    work.verdicts.unlink(missing_ok=True)
    work.run_result.unlink(missing_ok=True)
    cmd = [
        sys.executable, "-m", "pytest", *args.experiments.split(),
        "-p", "no:cacheprovider", "-o", "console_output_style=classic", "-rfEs",
        "-o", "flexchaos_closing_summary=false",  # printed once, below, after the report
        f"--alluredir={results}", "--clean-alluredir",
        f"--junitxml={work.junit}", f"--work-dir={work.root}",
        *extra,
    ]  # fmt: skip
    print("flexchaos gameday: " + " ".join(cmd[1:]), flush=True)
    code = run_experiments(cmd)
    recorded = read_exit_code(work.run_result)
    if code == USAGE_ERROR:
        return BAD_INPUT
    if code == NO_TESTS:
        print("flexchaos gameday: no experiment matched; check --experiments and -k", flush=True)
        return BAD_INPUT
    if recorded == INTERRUPTED_EXIT or code == INTERRUPTED or code < 0:  # < 0: pytest killed
        print(
            "flexchaos gameday: interrupted; the experiments reverted their faults before "
            "exiting (`flexchaos rollback` reverts anything a failed revert left open)",
            flush=True,
        )
        return INTERRUPTED_EXIT
    report_line = (
        f"Allure results: {results.resolve()} (HTML skipped: --no-report)"
        if args.no_report
        else build_report(results, args.report or work.report, work)
    )
    print()
    print(report_line)
    if work.verdicts.is_file():
        print(closing_table(work.verdicts, recorded, read_problems(work.run_result)))
    if recorded is not None:
        return recorded
    return 0 if code == 0 else 1  # no experiment ran (e.g. only the design review)


def run_experiments(cmd: list[str]) -> int:
    """Run pytest and wait for it even through Ctrl-C: it reverts its faults before it exits.

    A terminal's Ctrl-C reaches pytest too; SIGTERM (a cancelled pipeline) is passed on to it.
    Never kill it while it reverts: its own deadlines bound how long that takes.
    """
    process = subprocess.Popen(cmd)
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: process.send_signal(signum))
    try:
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                print(
                    "flexchaos gameday: interrupted; waiting for the experiments to revert "
                    "their faults",
                    file=sys.stderr,
                    flush=True,
                )
    finally:
        signal.signal(signal.SIGTERM, previous)


def build_report(results: Path, report: Path, work: WorkDir) -> str:
    """The HTML report with the work dir's history and trend, or why there is none."""
    if shutil.which("node") is None:
        again = "flexchaos report" + (f" --work-dir {work.root}" if work != WorkDir() else "")
        return (
            f"Allure results: {results.resolve()}. No Node.js here, so no HTML report: "
            f"install Node 20+ (e.g. `apt-get install nodejs npm`) and run `{again}`."
        )
    from reports.html import generate_report

    try:
        paths = generate_report(results, report, work.history, work.trend)
    except FlexchaosError as exc:
        return f"HTML report not built: {exc}. Allure results: {results.resolve()}"
    return f"report: {paths.awesome}\ndashboard: {paths.dashboard}"


def closing_table(
    verdicts_file: Path, exit_code: int | None = None, problems: list[str] | None = None
) -> str:
    """The closing summary, printed once, headed by the code the command exits with."""
    from reports.summary import text_summary
    from reports.verdict import Verdict

    verdicts = [Verdict.from_dict(v) for v in json.loads(verdicts_file.read_text())]
    return text_summary(verdicts, exit_code=exit_code, problems=problems or [])
