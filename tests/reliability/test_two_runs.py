"""Two game days started together on one scale set: the second is refused by the lease (exit
2, one line naming the holder and its expiry), and the set never has more VMs down than the
guard allows. 20 trials with staggers: bench/bench_two_runs.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.launcher import RunningEmulator
from fleet.lease import LEASE_TAG
from fleet.target import FleetTarget
from tests.reliability.two_runs import two_runs

GUARD_MAX_DOWN = 3  # 50 % of 6 VMs: the default max_unavailable


@pytest.fixture(scope="module")
def fleet(start_emulator) -> RunningEmulator:
    return start_emulator(time_scale=0.05)  # a probe interval of 0.25 s wall: judgeable


def test_two_zone_downs_at_once_one_is_refused_by_the_lease(
    fleet: RunningEmulator, tmp_path: Path
) -> None:
    result = two_runs(fleet, tmp_path)
    tails = "\n---\n".join(r.output[-2500:] for r in result.runs)
    assert result.refused == 1, tails
    refused = next(r for r in result.runs if r.refused_by_lease)
    ran = result.ran[0]
    assert ran.code in (0, 1, 3), tails  # judged (or inconclusive), never refused or broken
    line = refused.refusal_lines()[0]
    assert "scale set 'vmss-web' is in use by run" in line and " until 20" in line, line
    assert "Traceback" not in refused.output
    assert result.size == 6 and 0 < result.max_down <= GUARD_MAX_DOWN, result
    assert result.fault_calls == 2, result  # one zone: 2 VMs, from one run only
    target = FleetTarget.from_emulator(fleet.info)
    tags = target.clients.compute.virtual_machine_scale_sets.get(
        target.resource_group, target.scale_set
    ).as_dict()["tags"]
    assert LEASE_TAG not in tags  # released at the end of the run that held it
