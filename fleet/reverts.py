"""The registry of revert kinds: journal entries name a kind, rollback looks it up here.

Faults register their revert when their module is imported. A later provider (e.g. a Chaos
Studio experiment whose revert cancels the experiment) registers its own kind and adds its
module to PROVIDERS, and `flexchaos rollback` handles its entries with no other change.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from fleet.journal import JournalEntry

RevertFn = Callable[[JournalEntry, float | None], str]
"""Revert one entry (timeout in seconds or None for the fleet's default); return what was done.
Must be idempotent: a second call on a reverted fleet does nothing and says so."""

PROVIDERS: list[str] = ["fleet.faults", "fleet.chaos_studio"]
_REVERTS: dict[str, RevertFn] = {}


def register_revert(kind: str, fn: RevertFn) -> None:
    _REVERTS[kind] = fn


def load_providers() -> None:
    """Import every provider module that exists, so that its kinds are registered."""
    for name in PROVIDERS:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def revert_for(kind: str) -> RevertFn | None:
    load_providers()
    return _REVERTS.get(kind)


def kinds() -> list[str]:
    load_providers()
    return sorted(_REVERTS)
