"""`flexchaos report`: Allure results → single-file HTML reports with history and trends."""

from __future__ import annotations

import argparse
from pathlib import Path

from flexchaos.workdir import DEFAULT_WORK_DIR, WorkDir

HELP = "Turn Allure results into a single-file HTML report with history and failover trends."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--work-dir", type=Path, default=DEFAULT_WORK_DIR,
        help=f"the game day's work dir, where the paths below live (default {DEFAULT_WORK_DIR})",
    )  # fmt: skip
    parser.add_argument(
        "--results", type=Path,
        help="Allure results dir written by the game day (default: allure-results in the work dir)",
    )  # fmt: skip
    parser.add_argument(
        "--output", type=Path,
        help="report folder, emptied first (default: allure-report in the work dir)",
    )  # fmt: skip
    parser.add_argument(
        "--history", type=Path,
        help="Allure history kept across runs (default: history.jsonl in the work dir)",
    )  # fmt: skip
    parser.add_argument(
        "--trend", type=Path,
        help="failover and recovery time per scenario across runs (default: trend.jsonl in the "
        "work dir)",
    )  # fmt: skip
    parser.add_argument("--name", default="flexchaos game day", help="the report's title")


def run(args: argparse.Namespace) -> int:
    from flexchaos.run_result import read_run
    from reports.html import generate_report

    work = WorkDir(args.work_dir)
    paths = generate_report(
        args.results or work.results,
        args.output or work.report,
        args.history or work.history,
        args.trend or work.trend,
        name=args.name,
        # the last session's identity and details, when these results are its own
        run=read_run(work.run_result) if args.results is None else None,
    )
    print(f"run summary: {paths.summary}")
    print(f"report: {paths.awesome}")
    print(f"dashboard: {paths.dashboard}")
    print(f"failover trend: {paths.trend_chart} ({paths.experiments} experiments this run)")
    print(f"history: {paths.history}; trend: {paths.trend}")
    return 0
