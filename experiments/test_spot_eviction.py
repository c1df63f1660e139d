"""Evict one Spot VM (simulateEviction): it serves through the Preempt notice, then goes."""

import pytest

from fleet.selection import Selection


@pytest.mark.chaos(
    fault="evict",
    select=Selection(count=1, priority="Spot"),
    hold_s=60,
    hypothesis=(
        "A Spot eviction takes one VM out after its 30 s notice; traffic fails over to the other "
        "VMs within one probe interval and the evicted VM (Deallocate policy) serves again once "
        "it is started."
    ),
)
def test_spot_eviction(game_day):
    game_day.run()
