"""`flexchaos rollback`: revert every fault the journal says is still in."""

from __future__ import annotations

import argparse
from pathlib import Path

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
    if args.journal == str(DEFAULT_JOURNAL) and not Path(args.journal).exists():
        # No game day ever injected a fault here (or none ran): an always-run pipeline step
        # must pass. A --journal given explicitly must exist (a typo is not "nothing to do").
        print(f"nothing to roll back: no journal at {args.journal}")
        return 0
    results = rollback(require_journal(args.journal), print, args.timeout)
    return 1 if any(not r.ok for r in results) else 0
