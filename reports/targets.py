"""Resilience targets: what an SRE promises for each experiment, read from a TOML file.

`experiments/targets.toml` holds a `[defaults]` table and `[experiments.<name>]` overrides.
Durations are in platform seconds (what one would set for Azure); the verdict converts measured
wall seconds with the emulator's clock. Which keys exist, the metric each bounds, which way and
in what range all come from the measures' declarations (`probes.measures`). A malformed file is
refused with one line naming the file and the key, before anything runs.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from flexchaos.errors import FlexchaosError
from probes.measures import TARGETED, Bound, Measure

DEFAULT_TARGETS_PATH = Path("experiments/targets.toml")


@dataclass(frozen=True)
class TargetSpec:
    """One kind of target: its key in targets.toml, the measure it bounds and which way."""

    key: str
    bound: Bound
    measure: Measure

    @classmethod
    def of(cls, measure: Measure) -> TargetSpec:
        if measure.target is None or measure.bound is None:
            raise ValueError(f"measure {measure.name} has no target")
        return cls(measure.target, measure.bound, measure)

    @property
    def metric(self) -> str:
        return self.measure.name

    @property
    def comparison(self) -> str:
        return self.measure.comparison


SPECS: dict[str, TargetSpec] = {spec.key: spec for spec in map(TargetSpec.of, TARGETED)}


@dataclass(frozen=True)
class Targets:
    """The limits that apply to one experiment (defaults merged with its overrides)."""

    experiment: str
    limits: Mapping[str, float]
    source: str = ""

    def specs(self) -> list[tuple[TargetSpec, float]]:
        """The targets in the canonical order of SPECS, each with its limit."""
        return [(spec, self.limits[key]) for key, spec in SPECS.items() if key in self.limits]


@dataclass(frozen=True)
class TargetsFile:
    """A parsed targets file: defaults plus per-experiment overrides."""

    path: str
    defaults: Mapping[str, float]
    experiments: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def for_experiment(self, name: str) -> Targets:
        """The targets of an experiment; a parametrized id (`test_x[a]`) uses `test_x`'s."""
        base = name.split("[", 1)[0]
        overrides = self.experiments.get(name, self.experiments.get(base, {}))
        return Targets(experiment=name, limits={**self.defaults, **overrides}, source=self.path)


def load_targets(path: str | Path = DEFAULT_TARGETS_PATH) -> TargetsFile:
    """Read and validate a targets file; raise FlexchaosError naming the file and key if bad."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FlexchaosError(
            f"targets file {path} not found; create it or pass --targets FILE"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FlexchaosError(f"targets file {path} cannot be read ({exc}); fix the file") from None
    return parse_targets(text, str(path))


def parse_targets(text: str, source: str = "<targets>") -> TargetsFile:
    """Validate targets TOML text; `source` names the file in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FlexchaosError(f"{source}: TOML syntax error: {exc}; fix the file") from None
    for key in data:
        if key not in ("defaults", "experiments"):
            raise FlexchaosError(
                f"{source}: unknown table or key '{key}'; "
                "only [defaults] and [experiments.<name>] are allowed"
            )
    defaults = _limits(data.get("defaults", {}), "defaults", source)
    experiments_table = data.get("experiments", {})
    if not isinstance(experiments_table, dict):
        raise FlexchaosError(f"{source}: 'experiments' must be a table of [experiments.<name>]")
    experiments = {
        name: _limits(table, f"experiments.{name}", source)
        for name, table in experiments_table.items()
    }
    return TargetsFile(path=source, defaults=defaults, experiments=experiments)


def _limits(table: object, where: str, source: str) -> dict[str, float]:
    if not isinstance(table, dict):
        raise FlexchaosError(f"{source}: [{where}] must be a table of targets, not a value")
    limits: dict[str, float] = {}
    for key, value in table.items():
        spec = SPECS.get(key)
        if spec is None:
            raise FlexchaosError(
                f"{source}: [{where}] unknown key '{key}'; known keys: {', '.join(SPECS)}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FlexchaosError(
                f"{source}: [{where}] {key} must be a number, got {type(value).__name__} {value!r}"
            )
        number = float(value)
        measure = spec.measure
        if not (math.isfinite(number) and measure.low <= number <= measure.high):
            raise FlexchaosError(
                f"{source}: [{where}] {key} = {value!r} is out of range {measure.range_text}"
            )
        limits[key] = number
    return limits
