"""Fixture steps in the report: pytest's plumbing out, flexchaos's setup named plainly.

allure-pytest records every fixture a test used as a set-up step and every finalizer as a
tear-down step — `pytestconfig`, `flexchaos_settings::<lambda>` — which a reader takes for
part of the fault. Before generating, the staging copy of the results keeps only what tells
something: the fleet's set-up (named for what it does) and any fixture that failed or carries
steps or attachments. The results folder itself is never changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TITLES = {  # flexchaos's fixtures, named for what they do
    "flexchaos_fleet": "Fleet: start the emulator or reach the Azure scale set",
}


def tidy_fixtures(results: Path) -> int:
    """Rewrite every container in `results`; return how many fixture steps were dropped."""
    dropped = 0
    for path in sorted(results.glob("*-container.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        for key in ("befores", "afters"):
            fixtures = data.get(key) or []
            kept = [_named(f) for f in fixtures if _tells_something(f)]
            dropped += len(fixtures) - len(kept)
            data[key] = kept
        path.write_text(json.dumps(data), encoding="utf-8")
    return dropped


def _tells_something(fixture: dict[str, Any]) -> bool:
    if fixture.get("status") not in (None, "passed"):
        return True  # a fixture that failed is the story
    if fixture.get("steps") or fixture.get("attachments"):
        return True
    return fixture.get("name") in TITLES


def _named(fixture: dict[str, Any]) -> dict[str, Any]:
    name = str(fixture.get("name", ""))
    title = TITLES.get(name)
    return {**fixture, "name": title} if title else fixture
