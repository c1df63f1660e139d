"""The ARM routes the emulator serves (emulator/urls.py), each matched to the specification
operations that describe it. Emulator-only routes (/_emulator/…) are not Azure's and have no
specification; they are documented in docs/internals.md."""

from __future__ import annotations

import re

from emulator.routing import Route
from emulator.urls import all_routes
from tests.contract.spec import Contract, SpecOperation

_CHOICE = re.compile(r"\{[^}:]+:([^}]+)\}")


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


def spec_operation_for(route: Route, contract: Contract) -> list[SpecOperation]:
    """The specification operations (any vendored api-version) describing `route`."""
    path = _normal(route.path)
    return [
        op
        for op in contract.all_operations()
        if op.method == route.method.lower() and _normal(op.path) == path
    ]
