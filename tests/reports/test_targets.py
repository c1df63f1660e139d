"""Targets files: the shipped one loads, overrides merge, and every malformed case names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexchaos.errors import FlexchaosError
from reports.targets import SPECS, load_targets, parse_targets

REPO = Path(__file__).resolve().parents[2]

GOOD = """
[defaults]
min_healthy_capacity = 0.8
max_failover_time_s = 30
max_error_rate = 0.05

[experiments.test_zone_down]
min_healthy_capacity = 0.6
max_recovery_time_s = 200
"""


def test_shipped_targets_cover_the_default_game_day() -> None:
    targets = load_targets(REPO / "experiments" / "targets.toml")
    assert set(targets.defaults) == set(SPECS)
    for name in (
        "test_stop_vm",
        "test_deallocate_vm",
        "test_spot_eviction",
        "test_broken_health_extension",
        "test_zone_down",
        "test_chaos_studio_shutdown",
    ):
        assert name in targets.experiments
    # one VM of six out must pass the default floor; a zone of three down must pass its own
    assert targets.for_experiment("test_stop_vm").limits["min_healthy_capacity"] <= 5 / 6
    assert targets.for_experiment("test_zone_down").limits["min_healthy_capacity"] <= 4 / 6
    assert targets.for_experiment("test_zone_down").limits["min_healthy_capacity"] > 3 / 6


def test_overrides_merge_over_defaults_and_parametrized_ids_find_their_base() -> None:
    targets = parse_targets(GOOD, "t.toml")
    zone = targets.for_experiment("test_zone_down[zone-1]").limits
    assert zone == {
        "min_healthy_capacity": 0.6,
        "max_failover_time_s": 30.0,
        "max_error_rate": 0.05,
        "max_recovery_time_s": 200.0,
    }
    other = targets.for_experiment("test_unknown").limits
    assert other == {
        "min_healthy_capacity": 0.8,
        "max_failover_time_s": 30.0,
        "max_error_rate": 0.05,
    }
    spec_order = [spec.key for spec, _ in targets.for_experiment("test_zone_down").specs()]
    assert spec_order == [k for k in SPECS if k in zone]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[defaults]\nmax_failover_s = 3\n", "unknown key 'max_failover_s'"),
        ('[defaults]\nmax_error_rate = "low"\n', "max_error_rate must be a number, got str"),
        ("[defaults]\nmax_error_rate = true\n", "max_error_rate must be a number, got bool"),
        ("[defaults]\nmax_error_rate = 1.5\n", "max_error_rate = 1.5 is out of range 0..1"),
        (
            "[defaults]\nmin_healthy_capacity = -0.1\n",
            "min_healthy_capacity = -0.1 is out of range",
        ),
        ("[defaults]\nmax_p95_latency_ms = -5\n", "max_p95_latency_ms = -5 is out of range >= 0"),
        ("[defaults]\nmax_recovery_time_s = inf\n", "max_recovery_time_s = inf is out of range"),
        (
            "[experiments.test_stop_vm]\nmax_failovr_time_s = 3\n",
            "[experiments.test_stop_vm] unknown key 'max_failovr_time_s'",
        ),
        (
            "[experiments.test_stop_vm]\nmax_failover_time_s = [1]\n",
            "[experiments.test_stop_vm] max_failover_time_s must be a number, got list",
        ),
        ("[defaults]\nmax_error_rate = 0.1\n[targets]\nx = 1\n", "unknown table or key 'targets'"),
        ("defaults = 3\n", "[defaults] must be a table"),
        ("experiments = 3\n", "'experiments' must be a table"),
        ("[experiments]\ntest_stop_vm = 3\n", "[experiments.test_stop_vm] must be a table"),
        ("[defaults]\nmax_error_rate = 0.1\nmax_error_rate = 0.2\n", "TOML syntax error"),
        ("[defaults]\nmax_error_rate = \n", "line 2"),
    ],
)
def test_malformed_file_is_one_line_naming_file_and_key(text: str, expected: str) -> None:
    with pytest.raises(FlexchaosError) as caught:
        parse_targets(text, "experiments/bad.toml")
    message = str(caught.value)
    assert message.startswith("experiments/bad.toml: ")
    assert expected in message
    assert "\n" not in message


def test_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(FlexchaosError, match=r"not found; create it or pass --targets"):
        load_targets(tmp_path / "nope.toml")


def test_file_path_is_named_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    path.write_text("[defaults]\nmax_error_rate = 2\n")
    with pytest.raises(FlexchaosError, match=str(path)):
        load_targets(path)
