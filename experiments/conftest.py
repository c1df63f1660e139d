"""The default game day is the experiments in this folder; experiments/extra/ holds more that
run only when named (`flexchaos gameday --experiments experiments/extra`)."""

from __future__ import annotations

from pathlib import Path

import pytest

EXTRA = Path(__file__).parent / "extra"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path != EXTRA:
        return None
    named = [Path(str(arg).split("::", 1)[0]).resolve() for arg in config.args]
    return not any(path == EXTRA or EXTRA in path.parents for path in named) or None
