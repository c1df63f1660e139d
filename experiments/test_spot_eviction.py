"""Evict one Spot VM (simulateEviction): it serves through the Preempt notice, then goes."""

import pytest

from fleet.selection import Selection


@pytest.mark.chaos(
    fault="evict",
    select=Selection(count=1, priority="Spot"),
    hold_s=60,
    hypothesis=(
        "A Spot eviction takes one VM out after its 30 s notice; the load balancer's probe takes "
        "it out of rotation, the other VMs carry the traffic, and the evicted VM (Deallocate "
        "policy) serves again once it is started."
    ),
)
def test_spot_eviction(game_day):
    game_day.run()
