"""Shut one VM down through an Azure Chaos Studio experiment (per-VM Shutdown-1.0 fault).

Flexible scale sets cannot use Chaos Studio's scale-set shutdown fault (Uniform only), so the
experiment targets each selected VM as `Microsoft-VirtualMachine`; the service powers the VM off
for the hold time and starts it again itself.
"""

import pytest

from fleet.selection import Selection


@pytest.mark.chaos(
    fault="chaos-shutdown",
    select=Selection(count=1, priority="Regular"),
    options={"abrupt": True},
    hold_s=60,
    hypothesis=(
        "An abrupt shutdown run by Chaos Studio takes one VM out; the load balancer's probe takes "
        "it out of rotation, and the set is whole again after Chaos Studio restarts it."
    ),
)
def test_chaos_studio_shutdown(game_day):
    game_day.run()
