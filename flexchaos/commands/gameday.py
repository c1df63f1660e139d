"""`flexchaos gameday`: run the experiments under pytest, then build the HTML report.

The experiments are ordinary pytest tests (experiments/); this command only chooses sensible
outputs — Allure results, JUnit XML, the verdicts — and ends with the report's path and the
verdict table, so a person at a terminal and a pipeline read the same thing. Exit code: 0 when
every target of every experiment was met, 1 when one was missed or broken, 2 on bad input.
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

HELP = "Run the game day (experiments/) on the emulator or Azure, then build the report."
USAGE_ERROR = 4  # pytest's exit codes: a usage error, an interrupted session
INTERRUPTED = 2
NO_TESTS = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--experiments", default="experiments",
        help="pytest path(s) of the experiments to run (default: experiments)",
    )  # fmt: skip
    parser.add_argument("--results", type=Path, default=Path("allure-results"))
    parser.add_argument("--report", type=Path, default=Path("allure-report"))
    parser.add_argument("--work-dir", type=Path, default=Path("reports/out"))
    parser.add_argument(
        "--no-report", action="store_true", help="skip the HTML report (Allure results only)"
    )
    parser.add_argument(
        "pytest_args", nargs=argparse.REMAINDER,
        help="more pytest/flexchaos options after --, e.g. -- --dry-run --targets FILE -k stop",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    extra = [a for a in args.pytest_args if a != "--"]
    verdicts_file = args.work_dir / "verdicts.json"
    verdicts_file.unlink(missing_ok=True)
    cmd = [
        sys.executable, "-m", "pytest", *args.experiments.split(),
        "-p", "no:cacheprovider", "-o", "console_output_style=classic", "-rfEs",
        f"--alluredir={args.results}", "--clean-alluredir",
        f"--junitxml={args.work_dir / 'junit.xml'}", f"--work-dir={args.work_dir}",
        *extra,
    ]  # fmt: skip
    print("flexchaos gameday: " + " ".join(cmd[1:]), flush=True)
    code = run_experiments(cmd)
    if code == USAGE_ERROR:
        return 2
    if code == NO_TESTS:
        print("flexchaos gameday: no experiment matched; check --experiments and -k", flush=True)
        return 2
    if code == INTERRUPTED or code < 0:  # < 0: pytest itself was killed by a signal
        print(
            "flexchaos gameday: interrupted; the experiments reverted their faults before "
            "exiting (`flexchaos rollback` reverts anything a failed revert left open)",
            flush=True,
        )
        return 130
    report_line = build_report(args)
    print()
    print(report_line)
    if verdicts_file.is_file():
        print(closing_table(verdicts_file))
    return 0 if code == 0 else 1


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


def build_report(args: argparse.Namespace) -> str:
    if args.no_report:
        return f"Allure results: {args.results.resolve()} (HTML skipped: --no-report)"
    if shutil.which("node") is None:
        return (
            f"Allure results: {args.results.resolve()}. No Node.js here, so no HTML report: "
            "install Node 20+ (e.g. `apt-get install nodejs npm`) and run `flexchaos report`."
        )
    from reports.html import generate_report

    try:
        paths = generate_report(
            args.results, args.report, Path("reports/history.jsonl"), Path("reports/trend.jsonl")
        )
    except FlexchaosError as exc:
        return f"HTML report not built: {exc}. Allure results: {args.results.resolve()}"
    return f"report: {paths.awesome}\ndashboard: {paths.dashboard}"


def closing_table(verdicts_file: Path) -> str:
    from reports.summary import text_summary
    from reports.verdict import Verdict

    verdicts = [Verdict.from_dict(v) for v in json.loads(verdicts_file.read_text())]
    return text_summary(verdicts)
