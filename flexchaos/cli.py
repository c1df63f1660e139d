"""The `flexchaos` command: a thin dispatcher over flexchaos.commands.<name> modules.

Each sub-command lives in its own module so that the command line stays one concept per file;
a module exposes HELP (one line), add_arguments(parser) and run(args) -> exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from types import ModuleType
from typing import NoReturn

from flexchaos.errors import FlexchaosError

COMMANDS: dict[str, str] = {
    "emulator": "flexchaos.commands.emulator",
    "gameday": "flexchaos.commands.gameday",
    "plan": "flexchaos.commands.plan",
    "preflight": "flexchaos.commands.preflight",
    "review": "flexchaos.commands.review",
    "rollback": "flexchaos.commands.rollback",
    "report": "flexchaos.commands.report",
}


def _load(module_name: str) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad value is one line (what is wrong, where the help is), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="flexchaos",
        description="Chaos and resilience experiments for Azure VM Scale Sets (Flexible).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = _load(module_name)
        if module is None:
            continue
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    # azure-identity logs each failed credential at WARNING, many lines on stderr; the one-line
    # error below already says that authentication failed and what to do
    logging.getLogger("azure").setLevel(logging.ERROR)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["gameday"]:
        from flexchaos.commands.gameday_help import misplaced

        hint = misplaced(argv[1:])
        if hint:
            print(hint, file=sys.stderr)
            return 2
    args = build_parser().parse_args(argv)
    try:
        return int(args._module.run(args) or 0)
    except FlexchaosError as exc:
        print(f"flexchaos {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
