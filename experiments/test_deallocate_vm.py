"""Deallocate one Regular VM under load: it loses its host, so it comes back through a boot."""

import pytest

from fleet.selection import Selection


@pytest.mark.chaos(
    fault="deallocate",
    select=Selection(count=1, priority="Regular"),
    hold_s=60,
    hypothesis=(
        "Deallocating one VM drops its connections at once; the load balancer's probe takes it "
        "out of rotation, the errors stop once it has, and the VM serves again after it is "
        "started."
    ),
)
def test_deallocate_vm(game_day):
    game_day.run()
