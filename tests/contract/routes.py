"""The ARM routes the emulator serves (emulator/urls.py), each matched to the specification
operations that describe it. Emulator-only routes (/_emulator/…) are not Azure's and have no
specification; they are documented in docs/internals.md."""

from __future__ import annotations

import re

from emulator.routing import Route
from emulator.urls import all_routes
from tests.contract.spec import Contract, SpecOperation, spans_segments, template_regex

_CHOICE = re.compile(r"\{[^}:]+:([\w|]+)\}")  # `{action:powerOff|start}`
_SPANNING = re.compile(r"\{[^}:]+:[^}]+\}")  # `{resourcePath:.+}`: a resource's path
# A top-level resource's path as the SDK writes it into the specifications' resource templates
# (`{resourceProviderNamespace}/{parentResourcePath}/{resourceType}/{resourceName}`, the parent
# path empty): what a route's spanning placeholder stands for when it is matched to them.
RESOURCE_PATH = "Microsoft.Compute//virtualMachines/vm0"


def arm_routes() -> list[Route]:
    """Every ARM route, with a route whose segment is a choice (`{action:powerOff|start}`)
    expanded into one route per choice."""
    routes: list[Route] = []
    for route in all_routes():
        if not route.path.startswith("/subscriptions"):
            continue
        choice = _CHOICE.search(route.path)
        if choice is None:
            routes.append(route)
            continue
        for literal in choice.group(1).split("|"):
            path = route.path[: choice.start()] + literal + route.path[choice.end() :]
            routes.append(Route(route.method, path, route.handler))
    return routes


def _normal(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", template.split("?")[0]).lower()


def _example(template: str) -> str:
    """A concrete path of a route: each name `x`, a spanning placeholder a resource's path."""
    return re.sub(r"\{[^}]+\}", "x", _SPANNING.sub(RESOURCE_PATH, template))


def _describes(op: SpecOperation, route: Route) -> bool:
    if op.method != route.method.lower():
        return False
    if spans_segments(op.path):  # `{scope}`, `{parentResourcePath}`: match an example path
        return template_regex(op.path).match(_example(route.path)) is not None
    return _normal(op.path) == _normal(route.path)


def spec_operation_for(route: Route, contract: Contract) -> list[SpecOperation]:
    """The specification operations (any vendored api-version) describing `route`."""
    return [op for op in contract.all_operations() if _describes(op, route)]
