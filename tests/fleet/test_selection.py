"""Selection: filters, random choice with a recorded seed, and readable errors."""

from __future__ import annotations

import pytest

from fleet.inventory import Instance
from fleet.selection import Selection, select
from flexchaos.errors import FlexchaosError
from tests.fleet import wire

INSTANCES = [Instance.from_vm(v) for v in wire.fleet(6, spot=2)]
NAMES = [i.name for i in INSTANCES]


def test_empty_selection_is_every_vm_with_a_seed_reported() -> None:
    chosen = select(INSTANCES, Selection())
    assert chosen.names == tuple(sorted(NAMES))
    assert isinstance(chosen.seed, int)
    assert f"seed={chosen.seed}" in chosen.criteria


def test_filters() -> None:
    assert select(INSTANCES, Selection(zone="2")).names == tuple(
        sorted(i.name for i in INSTANCES if i.zone == "2")
    )
    spot = select(INSTANCES, Selection(priority="Spot")).names
    assert spot == tuple(sorted(NAMES[-2:]))
    assert select(INSTANCES, Selection(fault_domain=1)).names == tuple(sorted(NAMES[1::2]))
    tagged = [Instance.from_vm(wire.vm("t1", tags={"tier": "a"})), Instance.from_vm(wire.vm("t2"))]
    assert select(tagged, Selection(tags={"tier": "a"})).names == ("t1",)
    assert select(INSTANCES, Selection(names=(NAMES[3],))).names == (NAMES[3],)


def test_random_choice_is_repeatable_by_seed() -> None:
    first = select(INSTANCES, Selection(count=2, seed=7))
    again = select(INSTANCES, Selection(count=2, seed=7))
    assert first.names == again.names and len(first.names) == 2 and first.seed == 7
    seeds = {select(INSTANCES, Selection(count=3, seed=s)).names for s in range(20)}
    assert len(seeds) > 1  # different seeds choose differently


def test_percent_rounds_up_to_at_least_one() -> None:
    assert len(select(INSTANCES, Selection(percent=50, seed=1)).names) == 3
    assert len(select(INSTANCES, Selection(percent=1, seed=1)).names) == 1


def test_unknown_names_are_kept_for_the_guard() -> None:
    assert select(INSTANCES, Selection(names=("not-a-member",))).names == ("not-a-member",)


def test_errors_are_one_line() -> None:
    with pytest.raises(FlexchaosError, match="matched none of the 6 VMs"):
        select(INSTANCES, Selection(zone="9"))
    with pytest.raises(FlexchaosError, match="either a count or a percent"):
        Selection(count=1, percent=10)
    with pytest.raises(FlexchaosError, match="Spot or Regular"):
        Selection(priority="spot")
