"""Break one VM's Application Health extension: automatic repairs must replace it."""

import pytest

from fleet.selection import Selection


@pytest.mark.chaos(
    fault="break-extension",
    select=Selection(count=1, priority="Regular"),
    hold_s=30,
    platform_heals=True,
    recovery_limit_s=1500,
    hypothesis=(
        "A VM whose health extension reports it unhealthy is replaced by automatic repairs after "
        "the grace period; users see errors only while the repair takes that VM away (the load "
        "balancer probes its own path, not the extension's), and the set returns to full healthy "
        "capacity without the harness reverting anything."
    ),
)
def test_broken_health_extension(game_day):
    game_day.run()
