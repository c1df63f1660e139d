"""`flexchaos preflight`: the read-only checklist against the real target before a game day.

One line per finding (fleet/preflight.py); exit 0 when nothing blocks, 2 on any blocker (bad
input: fix the line it names; nothing was changed). Which faults to check the permissions and
the fleet for: those of the chaos experiments under `--experiments` (default `experiments/`,
read, not imported), or `--fault NAME` (repeatable). The game day runs the same checks first.
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterable
from pathlib import Path

from fleet.faults import fault
from fleet.preflight import run_preflight
from flexchaos.errors import FlexchaosError
from flexchaos.fleet_spec import FleetSpec, add_fleet_arguments, open_fleet

HELP = "read-only checklist before a game day: credential, permissions, scale set, LB, Spot, quota"
MAX_FILES = 500
EXTRA = "extra"  # experiments/extra/: more experiments, not part of the default game day


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--experiments", type=Path, nargs="*", default=None, metavar="PATH",
        help="experiment files or folders whose faults to check for (default experiments/)",
    )  # fmt: skip
    parser.add_argument(
        "--fault", action="append", default=None, metavar="NAME",
        help="check for this fault instead (repeatable), e.g. --fault stop --fault evict",
    )  # fmt: skip
    add_fleet_arguments(parser)


def faults_in(paths: Iterable[Path]) -> list[str]:
    """The `fault=` of every `@pytest.mark.chaos(...)` in the test files under `paths`."""
    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise FlexchaosError(f"--experiments {path}: no such file or folder")
        if path.is_file():
            files.append(path)
            continue
        extra = path.resolve() / EXTRA  # run only when named, as experiments/conftest.py does
        files += [
            f for f in sorted(path.rglob("test_*.py"))[:MAX_FILES]
            if extra not in f.resolve().parents
        ]  # fmt: skip
    found: list[str] = []
    for file in files:
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue  # pytest reports a broken file when the game day collects it
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("mark.chaos"):
                for kw in node.keywords:
                    if kw.arg == "fault" and isinstance(kw.value, ast.Constant):
                        found.append(str(kw.value.value))
    return list(dict.fromkeys(found))


def run(args: argparse.Namespace) -> int:
    faults = args.fault or faults_in(args.experiments or [Path("experiments")])
    for name in faults:
        fault(name)  # an unknown fault: one line with the nearest names
    if not faults:
        raise FlexchaosError("no experiment with @pytest.mark.chaos(fault=...) found; pass "
                             "--experiments PATH or --fault NAME")  # fmt: skip
    with open_fleet(FleetSpec.from_args(args)) as fleet:
        print(f"preflight of {fleet.target.describe()} for {', '.join(faults)}", flush=True)
        result = run_preflight(fleet.target, faults, say=lambda line: print(line, flush=True))
    verdict = result.text().splitlines()[-1]
    print(verdict)
    return 0 if result.passed else 2
