"""Redeploy one VM through an Azure Chaos Studio experiment (the per-VM Redeploy-1.0 fault)."""

import pytest

from fleet.selection import Selection


@pytest.mark.chaos(
    fault="chaos-redeploy",
    select=Selection(count=1, priority="Regular"),
    hold_s=60,
    platform_heals=True,
    recovery_limit_s=600,
    hypothesis=(
        "A redeploy run by Chaos Studio moves one VM to a new host; the load balancer's probe "
        "routes around it, and the set is whole again after it."
    ),
)
def test_chaos_studio_redeploy(game_day):
    game_day.run()
