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

from flexchaos.commands import gameday_help
from flexchaos.errors import FlexchaosError
from flexchaos.run_result import (
    BAD_INPUT,
    INTERRUPTED_EXIT,
    read_exit_code,
    read_problems,
    read_run,
)
from flexchaos.workdir import DEFAULT_WORK_DIR, WorkDir

HELP = "Run the game day (experiments/) on the emulator or Azure, then build the report."
USAGE_ERROR = 4  # pytest's exit codes: a usage error, an interrupted session
INTERRUPTED = 2
NO_TESTS = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = gameday_help.epilog()
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
        "--results", type=Path, metavar="DIR",
        help="where allure-pytest writes the Allure results, emptied at the start (default: "
        "allure-results in the work dir; dry-run/ or ad-hoc/ in it for those runs)",
    )  # fmt: skip
    parser.add_argument(
        "--report", type=Path, metavar="DIR",
        help="the HTML report folder, emptied and rebuilt; its index.html is the run summary "
        "(default: allure-report in the work dir; dry-run/ or ad-hoc/ in it for those runs)",
    )  # fmt: skip
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
    # A dry run or an ad-hoc selection gets its own report folder, history and trend (emptied
    # each time): it never overwrites the last real report nor adds to the real history.
    kind = gameday_help.scratch_kind(extra, args.experiments)
    reports = WorkDir(work.root / kind) if kind else work
    if kind:
        shutil.rmtree(reports.root, ignore_errors=True)
        reports.create()
        print(f"flexchaos gameday: {kind} run: its report goes to {reports.root}/; the real "
              "report, history and trend are not touched", flush=True)  # fmt: skip
    results: Path = args.results or reports.results
    work.verdicts.unlink(missing_ok=True)
    work.run_result.unlink(missing_ok=True)
    cmd = [
        sys.executable, "-m", "pytest", *args.experiments.split(),
        "-p", "no:cacheprovider", "-o", "console_output_style=classic",
        "-rs",  # skips' reasons; failures are in the closing summary, not cut to the width
        "-o", "flexchaos_closing_summary=false",  # printed once, below, after the report
        f"--alluredir={results}", "--clean-alluredir",
        f"--junitxml={work.junit}", f"--work-dir={work.root}",
        *extra,
    ]  # fmt: skip
    print("flexchaos gameday: " + " ".join(cmd[1:]), flush=True)
    code = run_experiments(cmd)
    recorded = read_exit_code(work.run_result)
    if code == USAGE_ERROR:
        # pytest's own line for a refusal depends on the terminal's width (banners, truncated
        # summaries): say it once more, whole, as the last line
        for problem in read_problems(work.run_result):
            print(f"flexchaos gameday: {problem}", flush=True)
        hint = gameday_help.suggest_option(extra) or _missing_experiments(args.experiments)
        if hint:
            print(hint, flush=True)
        return BAD_INPUT
    if code == NO_TESTS:
        hint = gameday_help.suggest_experiment(extra, args.experiments)
        print(hint or "flexchaos gameday: no experiment matched; check --experiments and -k",
              flush=True)  # fmt: skip
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
        else build_report(
            results, args.report or reports.report, reports, read_run(work.run_result)
        )
    )
    print()
    print(report_line)
    if work.verdicts.is_file():
        print(closing_table(work.verdicts, recorded, work.run_result, reports.trend))
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


def _missing_experiments(experiments: str) -> str | None:
    if all(Path(p.split("::", 1)[0]).exists() for p in experiments.split()):
        return None
    return gameday_help.suggest_experiment([], experiments)


def build_report(results: Path, report: Path, work: WorkDir, run: dict | None = None) -> str:
    """The HTML report with the work dir's history and trend, or why there is none."""
    if shutil.which("node") is None:
        again = "flexchaos report" + (f" --work-dir {work.root}" if work != WorkDir() else "")
        return (
            f"Allure results: {results.resolve()}. No Node.js here, so no HTML report: "
            f"install Node 20+ (e.g. `apt-get install nodejs npm`) and run `{again}`."
        )
    from reports.html import generate_report

    try:
        paths = generate_report(results, report, work.history, work.trend, run=run)
    except FlexchaosError as exc:
        return f"HTML report not built: {exc}. Allure results: {results.resolve()}"
    return (
        f"run summary: {paths.summary}\nreport: {paths.awesome}\ndashboard: {paths.dashboard}"
    )


def closing_table(
    verdicts_file: Path,
    exit_code: int | None = None,
    run_file: Path | None = None,
    trend_file: Path | None = None,
) -> str:
    """The closing summary, printed once, headed by the code the command exits with: the
    run's identity, one table for the whole run, the design review, the headline."""
    from reports.summary import RunContext, text_summary
    from reports.trend import load_trend
    from reports.verdict import Verdict

    verdicts = [Verdict.from_dict(v) for v in json.loads(verdicts_file.read_text())]
    run = read_run(run_file) if run_file is not None else {}
    trend = load_trend(trend_file) if trend_file is not None else []
    problems = [str(p) for p in run.get("problems") or []]
    return text_summary(
        verdicts, exit_code=exit_code, problems=problems, context=RunContext.from_run(run, trend)
    )
