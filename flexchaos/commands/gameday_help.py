"""The first hour with `flexchaos gameday`: the experiment options in its --help, a hint when
one of them is put before `--`, near-miss suggestions for options and experiment names, and
which runs must keep out of the real history (dry runs, ad-hoc selections).
"""

from __future__ import annotations

import difflib
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path

from flexchaos.fleet_spec import FLEET_OPTIONS
from flexchaos.options import Option
from flexchaos.settings import RUN_OPTIONS

EXPERIMENT_OPTIONS: tuple[Option, ...] = (*FLEET_OPTIONS, *RUN_OPTIONS)
# Options that select a subset of the game day: such a run is ad hoc, not the game day itself.
SELECTING = ("-k", "-m", "--deselect", "--lf", "--last-failed", "--ff")


def epilog() -> str:
    """The options that go after `--` (read by the pytest plugin), for `gameday --help`."""
    lines = ["experiment options (after --, e.g. flexchaos gameday -- --dry-run --seed 7):"]
    for option in EXPERIMENT_OPTIONS:
        flag = f"--{option.name}" + (f" {option.metavar}" if option.metavar else "")
        text = option.help_with_default.replace("%%", "%")
        wrapped = textwrap.wrap(text, 66) or [""]
        pad = " " * 31
        first = f"  {flag:<28} {wrapped[0]}" if len(flag) < 28 else f"  {flag}\n{pad}{wrapped[0]}"
        lines += [first, *(pad + more for more in wrapped[1:])]
    lines += [
        "  -k EXPRESSION                pytest: run only the experiments whose names match",
        "",
        "A dry run, or a run that selects experiments (-k, -m, a ::test node id), writes its",
        "report into its own folder of the work dir (dry-run/, ad-hoc/) and never touches the",
        "real report, history or trend.",
    ]
    return "\n".join(lines)


def misplaced(argv: Sequence[str]) -> str | None:
    """A hint when an experiment option is given before `--` (argparse would only say
    "unrecognized arguments")."""
    before = list(argv[: argv.index("--")]) if "--" in argv else list(argv)
    known = {f"--{o.name}" for o in EXPERIMENT_OPTIONS} - {"--work-dir"}
    for arg in before:
        flag = arg.split("=", 1)[0]
        if flag in known:
            rest = " ".join(a for a in before if a != "gameday")
            return (
                f"flexchaos gameday: {flag} is an experiment option: put it after --, e.g. "
                f"`flexchaos gameday -- {rest}`"
            )
    return None


def suggest_option(extra: Sequence[str]) -> str | None:
    """"did you mean --seed?" for an option after `--` that is close to a flexchaos one."""
    known = [f"--{o.name}" for o in EXPERIMENT_OPTIONS]
    for arg in extra:
        flag = arg.split("=", 1)[0]
        if not flag.startswith("--") or flag in known:
            continue
        close = difflib.get_close_matches(flag, known, n=1, cutoff=0.7)
        if close:
            return f"flexchaos gameday: unknown option {flag}; did you mean {close[0]}?"
    return None


def suggest_experiment(extra: Sequence[str], experiments: str) -> str | None:
    """For `-k NAME` that matched nothing, or an experiments path that does not exist: the
    closest experiment name or file."""
    from flexchaos.input_checks import declared_experiments

    paths = [Path(p.split("::", 1)[0]) for p in experiments.split()]
    missing = [p for p in paths if not p.exists()]
    if missing:
        folder = missing[0].parent if missing[0].parent.is_dir() else Path("experiments")
        files = [str(f) for f in sorted(folder.glob("test_*.py"))]
        close = difflib.get_close_matches(str(missing[0]), files, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        return f"flexchaos gameday: {missing[0]} does not exist{hint}"
    folders = {p if p.is_dir() else p.parent for p in paths}
    names = sorted(declared_experiments(folders) | {"test_design_review"})
    keyword = _after(extra, "-k")
    if keyword is None:
        return None
    words = [w for w in re.split(r"[\s()]+", keyword) if w and w not in ("and", "or", "not")]
    for word in words:
        if any(word in name for name in names):
            continue
        close = difflib.get_close_matches(word, names, n=1, cutoff=0.6) or [
            n for n in names if difflib.SequenceMatcher(None, word, n).ratio() > 0.5
        ][:1]
        if close:
            return f"flexchaos gameday: no experiment matched {word!r}; did you mean {close[0]}?"
    return f"flexchaos gameday: no experiment matched -k {keyword!r}; experiments: " + ", ".join(
        names
    )


def scratch_kind(extra: Sequence[str], experiments: str) -> str | None:
    """"dry-run" or "ad-hoc" when the run must keep out of the real history, else None."""
    if "--dry-run" in extra:
        return "dry-run"
    if any(a in SELECTING or a.startswith(("-k", "-m")) for a in extra) or "::" in experiments:
        return "ad-hoc"
    return None


def _after(args: Sequence[str], flag: str) -> str | None:
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(flag) and len(arg) > len(flag):
            return arg[len(flag) :]
    return None
