"""Redeploy one Regular VM to a new host: it shuts down, moves and boots again by itself."""

import pytest

from fleet.selection import Selection


@pytest.mark.chaos(
    fault="redeploy",
    select=Selection(count=1, priority="Regular"),
    hold_s=60,
    platform_heals=True,
    recovery_limit_s=600,
    hypothesis=(
        "A VM redeployed to a new host is out for its move and boot; the load balancer's probe "
        "routes around it, and the set is whole again after it."
    ),
)
def test_redeploy_vm(game_day):
    game_day.run()
