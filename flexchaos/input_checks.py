"""Bad input caught before anything runs: targets against experiments, hypotheses and the fleet.

At collection (nothing started yet) the plugin checks every selected experiment: its targets
file is readable, names only experiments that exist, gives it at least one target, and its
hypothesis does not claim what its targets allow; when the plugin will start the emulator, the
limits are also checked against the topology's load-balancer probe. On Azure, or on an emulator
the run attaches to, the probe is known only once the preflight has read the load balancer:
`check_against_fleet` runs there. Each problem is one line, and bad input exits 2.

Which experiments exist: the chaos experiments pytest collected, the deselected ones included
(`-k` or `-m` runs a subset of a file), and those declared in the `test_*.py` files under the
targets file's folder and the collected files' folders (`--experiments one_file.py` collects
one file of a game day whose targets file names them all). Those files are read, never
imported.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fleet.evidence import LbProbe, lb_probe
from flexchaos.errors import BadInput, FlexchaosError
from flexchaos.fleet_spec import FleetSpec
from flexchaos.scenario import Scenario
from reports.hypothesis import contradictions, stated
from reports.target_checks import below_floor, no_judged_target, unknown_sections
from reports.targets import Targets, TargetsFile

MAX_SCANNED_FILES = 500  # a targets file in a big tree must not make collection slow
SKIPPED_DIRS = {"node_modules", "__pycache__", "site-packages"}


def check_collection(
    targets: TargetsFile,
    experiments: Sequence[Scenario],
    known: Iterable[str],
    probe: LbProbe | None,
) -> dict[str, str]:
    """Raise FlexchaosError (one line) on the first problem; return each experiment's
    hypothesis as it is shown (`reports.hypothesis.stated`)."""
    problems = unknown_sections(targets, set(known))
    shown: dict[str, str] = {}
    for scenario in experiments:
        limits = targets.for_experiment(scenario.name)
        unjudged = no_judged_target(limits)
        problems += [unjudged] if unjudged else []
        problems += below_floor(limits, probe) if probe is not None else []
        problems += contradictions(scenario.hypothesis, limits, probe)
        shown[scenario.name] = stated(scenario.hypothesis, limits)
    if problems:
        raise FlexchaosError(_one_line(problems))
    return shown


def check_against_fleet(targets: Targets, hypothesis: str, evidence: Mapping[str, Any]) -> None:
    """The preflight's check once its evidence holds the load balancer: BadInput (exit 2) when a
    limit is under what its probe can detect, or the hypothesis claims less than that. Without
    a load balancer in the evidence (Azure without --load-balancer) there is nothing to check."""
    probe = lb_probe(evidence)
    if probe is None:
        return
    problems = below_floor(targets, probe) + contradictions(hypothesis, targets, probe)
    if problems:
        raise BadInput(_one_line(problems))


def topology_probe(spec: FleetSpec) -> LbProbe | None:
    """The load-balancer probe of the emulator the run will start (its topology file, or the
    defaults); None when the run attaches to a fleet whose probe only the preflight can read."""
    if not spec.starts_emulator:
        return None
    from emulator.topology import load_topology

    lb = load_topology(spec.topology).load_balancer
    return LbProbe(lb.name, float(lb.probe_interval_in_seconds), lb.probe_threshold)


def declared_experiments(folders: Iterable[Path]) -> set[str]:
    """Names of the `@pytest.mark.chaos` tests in the `test_*.py` files under `folders`."""
    names: set[str] = set()
    seen: set[Path] = set()
    for folder in {f.resolve() for f in folders if f.is_dir()}:
        for path in sorted(folder.rglob("test_*.py")):
            if len(seen) >= MAX_SCANNED_FILES:
                return names
            rel = path.relative_to(folder).parts[:-1]
            if path in seen or any(p.startswith(".") or p in SKIPPED_DIRS for p in rel):
                continue
            seen.add(path)
            names |= _chaos_tests(path)
    return names


def _chaos_tests(path: Path) -> set[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return set()  # pytest reports a broken file itself when it collects it
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test")
        and any("mark.chaos" in ast.unparse(d) for d in node.decorator_list)
    }


def _one_line(problems: list[str]) -> str:
    more = len(problems) - 1
    return problems[0] + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")
