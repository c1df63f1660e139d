"""The shape of the house, checked: data flows one way (experiment → fleet → Azure or emulator →
probes → timeline → verdict → report), no import circles, small modules, and a lifecycle that
knows no fault by name. These fail when a change adds a back-and-forth."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from fleet.faults import FAULTS

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("flexchaos", "reports", "probes", "load", "fleet", "emulator")
# What each package may import besides itself. flexchaos.errors is the one module every
# package may import; `fleet` (client side) and `emulator` (server side) meet only over HTTP.
ALLOWED: dict[str, set[str]] = {
    "flexchaos": {"reports", "probes", "load", "fleet", "emulator"},
    "reports": {"probes"},
    "probes": set(),
    "load": set(),
    "fleet": set(),
    "emulator": set(),
}
SHARED_MODULE = "flexchaos.errors"
MAX_LINES = 400
# Modules over MAX_LINES that earn their size (one concept that does not split well).
EARNED: dict[str, str] = {}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules imported anywhere in the file (function-level imports included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(path, name, set(found)) for name, path in found.items()}


def test_no_package_imports_a_higher_one() -> None:
    wrong = []
    for name, imported in graph().items():
        package = name.split(".")[0]
        for target in imported:
            other = target.split(".")[0]
            if other == package or target == SHARED_MODULE:
                continue
            if other not in ALLOWED[package]:
                wrong.append(f"{name} imports {target}")
    assert not wrong, "imports against the data flow:\n" + "\n".join(sorted(wrong))


def test_no_import_circle() -> None:
    edges = graph()
    # package-level edges for __init__ re-exports would hide nothing: check modules directly
    state: dict[str, int] = defaultdict(int)
    stack: list[str] = []
    circles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state[nxt] == 1:
                circles.append(" → ".join([*stack[stack.index(nxt) :], nxt]))
            elif state[nxt] == 0:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if state[node] == 0:
            visit(node)
    # a package's __init__ importing its own submodules is not a circle of concepts
    real = [c for c in circles if not _only_package_init(c)]
    assert not real, "import circles:\n" + "\n".join(real)


def _only_package_init(circle: str) -> bool:
    nodes = circle.split(" → ")
    inits = [n for n in nodes if (ROOT / n.replace(".", "/") / "__init__.py").exists()]
    return any(all(m == i or m.startswith(i + ".") for m in nodes) for i in inits)


def test_modules_are_small() -> None:
    big = {
        str(path.relative_to(ROOT)): n
        for path in modules().values()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    unearned = {p: n for p, n in big.items() if p not in EARNED}
    assert not unearned, f"modules over {MAX_LINES} lines: {unearned}"


@pytest.mark.parametrize("module", ["flexchaos/lifecycle.py", "fleet/injector.py"])
def test_the_engine_knows_no_fault_by_name(module: str) -> None:
    code = ast.parse((ROOT / module).read_text(encoding="utf-8"))
    strings = {
        node.value for node in ast.walk(code) if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
    }  # fmt: skip
    names = {n.id for n in ast.walk(code) if isinstance(n, ast.Name)}
    named = sorted((strings & set(FAULTS)) | {n for n in names if n.lower().startswith("chaos")})
    assert not named, f"{module} names faults: {named}"


def test_every_package_says_what_it_is_for() -> None:
    vague = []
    for path in ROOT.glob("*/__init__.py"):
        if path.parent.name not in PACKAGES:
            continue
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        if len(doc.split()) < 6:
            vague.append(f"{path.parent.name}: {doc!r}")
    assert not vague, "package docstrings that say nothing: " + "; ".join(vague)
