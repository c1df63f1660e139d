"""The route table (moto's "urls"): every ROUTES list from emulator/responses/<area>.py, plus
the data plane's emulator-only routes (emulator/dataplane/routes.py).

Adding an area (Chaos Studio, network) means adding a module with ROUTES; nothing here changes.
"""

from __future__ import annotations

import importlib
import pkgutil

from emulator import responses
from emulator.routing import Route

EXTRA_ROUTE_MODULES = (
    "emulator.dataplane.routes",
    "emulator.identity.entra",  # Azure mode: the Entra ID stand-in
    "emulator.identity.setup",  # Azure mode: PUT /_emulator/role
)


def _module_routes(module_name: str) -> list[Route]:
    return list(getattr(importlib.import_module(module_name), "ROUTES", []))


def all_routes() -> list[Route]:
    """Routes of every public module in emulator.responses (sorted by name), then extras."""
    names = sorted(
        f"{responses.__name__}.{info.name}"
        for info in pkgutil.iter_modules(responses.__path__)
        if not info.name.startswith("_")
    )
    routes: list[Route] = []
    for name in [*names, *EXTRA_ROUTE_MODULES]:
        routes.extend(_module_routes(name))
    return routes
