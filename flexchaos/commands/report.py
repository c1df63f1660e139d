"""`flexchaos report`: Allure results → single-file HTML reports with history and trends."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "Turn Allure results into a single-file HTML report with history and failover trends."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--results", type=Path, default=Path("allure-results"),
        help="Allure results dir written by the game day (default: allure-results)",
    )  # fmt: skip
    parser.add_argument(
        "--output", type=Path, default=Path("allure-report"),
        help="report folder, emptied first (default: allure-report)",
    )  # fmt: skip
    parser.add_argument(
        "--history", type=Path, default=Path("reports/history.jsonl"),
        help="Allure history kept across runs (default: reports/history.jsonl)",
    )  # fmt: skip
    parser.add_argument(
        "--trend", type=Path, default=Path("reports/trend.jsonl"),
        help="failover/recovery time per scenario across runs (default: reports/trend.jsonl)",
    )  # fmt: skip
    parser.add_argument("--name", default="flexchaos game day", help="the report's title")


def run(args: argparse.Namespace) -> int:
    from reports.html import generate_report

    paths = generate_report(args.results, args.output, args.history, args.trend, name=args.name)
    print(f"report: {paths.awesome}")
    print(f"dashboard: {paths.dashboard}")
    print(f"failover trend: {paths.trend_chart} ({paths.experiments} experiments this run)")
    print(f"history: {paths.history}; trend: {paths.trend}")
    return 0
