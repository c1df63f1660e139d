"""Power off one Regular VM under load: the load balancer must stop sending it new flows."""

import pytest

from fleet.selection import Selection


@pytest.mark.chaos(
    fault="stop",
    select=Selection(count=1, priority="Regular"),
    hold_s=60,
    hypothesis=(
        "When one VM is powered off, the load balancer's probe takes it out of rotation and new "
        "flows go to the other VMs; users see errors only until then, and the set is back at full "
        "healthy capacity after the VM is started again."
    ),
)
def test_stop_vm(game_day):
    game_day.run()
