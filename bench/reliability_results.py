"""bench/results/reliability.json: one JSON object, one key per section ("two_runs",
"bad_input", the kill matrix's, the ARM faults'), each written by its own script. A script
reads the file, replaces only its own keys and writes it back, so sections never clobber
each other."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "reliability.json"


def update(section: str, figures: dict[str, Any], path: Path = RESULTS) -> Path:
    """Replace `section` in the file with `figures`, keeping every other section."""
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            data = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            data = {}
    data[section] = figures
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path
