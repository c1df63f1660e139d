"""Restart one Regular VM under load: the platform brings it back, the harness reverts nothing."""

import pytest

from fleet.selection import Selection


@pytest.mark.chaos(
    fault="restart",
    select=Selection(count=1, priority="Regular"),
    hold_s=60,
    platform_heals=True,
    recovery_limit_s=300,
    hypothesis=(
        "A restarted VM drops its flows while it reboots; the load balancer's probe routes around "
        "it, and the set is whole again once it has booted."
    ),
)
def test_restart_vm(game_day):
    game_day.run()
