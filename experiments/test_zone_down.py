"""Power off every VM of one availability zone: the other zones must carry the traffic."""

import pytest


@pytest.mark.chaos(
    fault="zone-down",
    options={"zone": "1"},
    hold_s=60,
    severity="blocker",
    hypothesis=(
        "Losing a whole zone leaves two thirds of the set serving; the load balancer's probe "
        "takes the zone's VMs out of rotation and users see a brief, bounded error burst."
    ),
)
def test_zone_down(game_day):
    game_day.run()
