"""`flexchaos rollback`: stop any load generator a killed run left behind, then revert every
fault the journal says is still in.

Exit 0 when everything is back (or nothing was open), 1 when a revert failed (its entry stays
open for the next rollback), 2 when the journal cannot be read (damaged, a directory,
unreadable): one line naming the line to check, and nothing is reverted on a guess.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from fleet.journal import Journal, require_journal
from fleet.lease import break_stale_leases
from fleet.rollback import rollback
from flexchaos.errors import FlexchaosError
from flexchaos.workdir import DEFAULT_WORK_DIR, WorkDir
from load.registry import LoadRegistry, registry_beside

HELP = (
    "revert every open fault in the journal and stop load a killed run left behind "
    "(idempotent; safe after a crash)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--journal",
        type=Path,
        help=f"journal file (default: journal.jsonl in the work dir, {WorkDir().journal})",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        help=f"the game day's work dir, whose journal to read (default {DEFAULT_WORK_DIR})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds allowed per operation (default 60 emulator, 1800 Azure)",
    )


def run(args: argparse.Namespace) -> int:
    if args.timeout is not None and not args.timeout > 0:
        raise FlexchaosError(f"--timeout must be above 0 seconds, got {args.timeout:g}")
    if args.journal is None:
        if args.work_dir is not None and not args.work_dir.is_dir():
            raise FlexchaosError(f"work dir {args.work_dir} does not exist; pass --work-dir DIR")
        journal = WorkDir(args.work_dir or DEFAULT_WORK_DIR).journal
        stop_left_behind_load(journal)
        if not journal.exists():
            # No game day ever injected a fault here (or none ran): an always-run pipeline step
            # must pass. A --journal given explicitly must exist (a typo is not "nothing to do").
            print(f"nothing to roll back: no journal at {journal}")
            return 0
    else:
        journal = args.journal
        stop_left_behind_load(journal)
    opened = require_journal(journal)
    check_readable(opened)
    results = rollback(opened, print, args.timeout)
    break_stale_leases(opened, print)  # a killed run's lease: expired, or its process is gone
    return 1 if any(not r.ok for r in results) else 0


def stop_left_behind_load(journal: Path) -> None:
    """Locust processes a killed run recorded beside its journal and never stopped."""
    registry = LoadRegistry(registry_beside(journal))
    if registry.path.is_file() and registry.stop_left_behind(print) == 0:
        print("no load generator left running")


def check_readable(journal: Journal) -> None:
    """A journal that is a directory or cannot be opened is not "nothing to roll back": one line
    saying what to check. What it holds is the journal's own check (fleet/journal_lines.py:
    a torn last line is reported, any other damage is refused with the line to look at)."""
    path = journal.path
    if path.is_dir():
        raise FlexchaosError(f"journal {path} is a directory; pass --journal FILE (journal.jsonl)")
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise FlexchaosError(f"cannot read journal {path} ({exc}); check the path") from None
    journal.scan()  # JournalDamaged (bad input, exit 2) names the damaged line
