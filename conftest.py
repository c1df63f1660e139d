"""Wires the flexchaos plugin for this repository's experiments.

The plugin itself (options, the session's fleet, the `game_day` fixture, verdicts) is
registered by the package's pytest11 entry point, so `pip install -e .` is all it takes. The
game days live in experiments/ and run only when asked for (`flexchaos gameday` or
`pytest experiments`); a plain `pytest` runs tests/ (testpaths in pyproject.toml).
"""

# Benchmarks are scripts that print and record figures, never tests.
collect_ignore = ["bench"]
