"""Targets checked before anything runs: sections that name no experiment, experiments with
nothing to judge, and limits under what the fleet's load balancer can detect."""

from __future__ import annotations

from fleet.evidence import LbProbe
from reports.target_checks import below_floor, detection_floor_s, no_judged_target, unknown_sections
from reports.targets import Targets, parse_targets

EXPERIMENTS = {"test_stop_vm", "test_zone_down", "test_spot_eviction"}


def test_a_typo_in_a_section_name_is_named_with_the_near_miss() -> None:
    targets = parse_targets(
        "[defaults]\nmax_error_rate = 0.05\n[experiments.test_stop_mv]\nmax_failover_time_s = 30\n",
        "t.toml",
    )
    [problem] = unknown_sections(targets, EXPERIMENTS)
    assert problem.startswith("t.toml: [experiments.test_stop_mv] names no experiment")
    assert problem.endswith("did you mean test_stop_vm?")
    assert "\n" not in problem


def test_a_section_far_from_any_experiment_lists_the_known_ones() -> None:
    targets = parse_targets("[experiments.checkout_latency]\nmax_error_rate = 0.1\n", "t.toml")
    [problem] = unknown_sections(targets, EXPERIMENTS)
    assert "known experiments: test_spot_eviction, test_stop_vm, test_zone_down" in problem


def test_known_and_parametrized_sections_pass() -> None:
    text = (
        "[experiments.test_stop_vm]\nmax_error_rate = 0.1\n[experiments.test_x]\n"
        'max_error_rate = 0.1\n[experiments."test_y[zone-1]"]\nmax_error_rate = 0.1\n'
    )
    targets = parse_targets(text, "t.toml")
    assert unknown_sections(targets, {"test_stop_vm", "test_x", "test_y"}) == []


def test_an_experiment_with_no_target_is_refused() -> None:
    empty = parse_targets("", "empty.toml").for_experiment("test_stop_vm[a]")
    problem = no_judged_target(empty)
    assert problem is not None
    assert problem.startswith("empty.toml: test_stop_vm[a] has no target to judge")
    assert "[experiments.test_stop_vm]" in problem
    assert no_judged_target(Targets("test_stop_vm", {"max_error_rate": 0.05})) is None


def test_a_failover_limit_under_the_probe_floor_cannot_be_met() -> None:
    probe = LbProbe("lb-web", 5.0, 2)
    assert detection_floor_s(probe) == 10.0
    too_strict = Targets("test_stop_vm", {"max_failover_time_s": 8.0}, "t.toml")
    [problem] = below_floor(too_strict, probe)
    assert problem.startswith("t.toml: test_stop_vm: max_failover_time_s = 8 s is below")
    assert "every 5 s x threshold 2 = 10 s" in problem
    assert below_floor(Targets("x", {"max_failover_time_s": 10.0}), probe) == []
    assert below_floor(Targets("x", {"max_error_rate": 0.01}), probe) == []
