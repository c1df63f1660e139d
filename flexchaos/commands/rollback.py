"""`flexchaos rollback`: revert every fault the journal says is still in."""

from __future__ import annotations

import argparse

from fleet.journal import DEFAULT_JOURNAL, require_journal
from fleet.rollback import rollback

HELP = "revert every open fault in the journal (idempotent; safe after a crash)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--journal", default=str(DEFAULT_JOURNAL), help=f"journal file (default {DEFAULT_JOURNAL})"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds allowed per operation (default 60 emulator, 1800 Azure)",
    )


def run(args: argparse.Namespace) -> int:
    results = rollback(require_journal(args.journal), print, args.timeout)
    return 1 if any(not r.ok for r in results) else 0
