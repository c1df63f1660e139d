"""The lease on a scale set (fleet/lease.py) through the real SDK against the emulator: its
ETag and If-Match (412 when another writer came first), one holder at a time even when many
take it at once, release, and rollback breaking only stale leases."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import ResourceModifiedError

from emulator.launcher import RunningEmulator
from fleet.journal import Journal, new_entry
from fleet.lease import LEASE_TAG, Lease, LeaseHeld, LeaseRecord, break_stale
from fleet.target import FleetTarget
from tests.fleet.support import flexchaos
from tests.waiting import wait_for


@pytest.fixture(scope="module")
def target(emulator: RunningEmulator) -> FleetTarget:
    return FleetTarget.from_emulator(emulator.info)


def scale_set(target: FleetTarget) -> dict:
    sets = target.clients.compute.virtual_machine_scale_sets
    return sets.get(target.resource_group, target.scale_set).as_dict()


def write_tag(target: FleetTarget, value: str) -> None:
    tags = {**scale_set(target)["tags"], LEASE_TAG: value}
    sets = target.clients.compute.virtual_machine_scale_sets
    sets.begin_update(target.resource_group, target.scale_set, {"tags": tags}).result()


def test_the_scale_set_has_an_etag_and_a_stale_if_match_is_412(target: FleetTarget) -> None:
    sets = target.clients.compute.virtual_machine_scale_sets
    before = scale_set(target)
    assert before["etag"]
    tags = {**before["tags"], "owner": "test"}
    sets.begin_update(
        target.resource_group, target.scale_set, {"tags": tags},
        etag=before["etag"], match_condition=MatchConditions.IfNotModified,
    ).result()  # fmt: skip
    after = scale_set(target)
    assert after["tags"]["owner"] == "test" and after["etag"] != before["etag"]
    with pytest.raises(ResourceModifiedError):  # the ETag moved on: 412
        sets.begin_update(
            target.resource_group, target.scale_set, {"tags": before["tags"]},
            etag=before["etag"], match_condition=MatchConditions.IfNotModified,
        ).result()  # fmt: skip
    assert scale_set(target)["tags"]["owner"] == "test"  # the refused write changed nothing
    sets.begin_update(target.resource_group, target.scale_set, {"tags": before["tags"]}).result()


def test_a_second_run_is_refused_naming_the_holder_then_gets_it_after_release(
    target: FleetTarget,
) -> None:
    first, second = Lease(target, ttl_s=30), Lease(target, ttl_s=30)
    first.acquire()
    try:
        with pytest.raises(LeaseHeld) as refused:
            second.acquire()
        line = str(refused.value)
        assert f"is in use by run {first.run} (pid" in line and " until 20" in line
        assert "\n" not in line
        with pytest.raises(LeaseHeld):
            second.check()  # the read-only check says the same
        first.check()  # its own lease does not stop the holder
    finally:
        first.release()
    tags = scale_set(target)["tags"]
    assert LEASE_TAG not in tags and tags.get("chaos") == "allowed"  # other tags kept
    with second:
        assert LeaseRecord.parse(scale_set(target)["tags"][LEASE_TAG]).run == second.run
    assert LEASE_TAG not in scale_set(target)["tags"]


def test_many_runs_taking_it_at_once_exactly_one_wins(target: FleetTarget) -> None:
    leases = [Lease(target, ttl_s=30) for _ in range(6)]
    start = threading.Barrier(len(leases))
    won: list[Lease] = []
    refused: list[str] = []

    def take(lease: Lease) -> None:
        start.wait(timeout=30)
        try:
            lease.acquire()
            won.append(lease)
        except LeaseHeld as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=take, args=(lease,)) for lease in leases]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert len(won) == 1 and len(refused) == len(leases) - 1, (won, refused)
        assert all(won[0].run in line for line in refused)
    finally:
        for lease in won:
            lease.release()


def test_the_holder_renews_it_before_it_expires(target: FleetTarget) -> None:
    with Lease(target, ttl_s=1.5) as lease:
        first = LeaseRecord.parse(scale_set(target)["tags"][LEASE_TAG])
        assert first is not None
        wait_for(
            lambda: LeaseRecord.parse(scale_set(target)["tags"][LEASE_TAG]).expires
            > first.expires,
            timeout=30, what="a renewal",
        )  # fmt: skip
        assert lease.held and lease.lost is None


def test_rollback_breaks_a_stale_lease_and_never_a_live_one(target: FleetTarget) -> None:
    host = socket.gethostname()
    live = LeaseRecord("live-run", host, 1, time.time() + 600)  # pid 1 exists
    write_tag(target, live.text())
    assert "lease kept" in (break_stale(target) or "")
    assert LEASE_TAG in scale_set(target)["tags"]
    expired = LeaseRecord("old-run", "elsewhere", 1, time.time() - 5)
    write_tag(target, expired.text())
    assert "(expired)" in (break_stale(target) or "")
    assert LEASE_TAG not in scale_set(target)["tags"]
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    gone = LeaseRecord("killed-run", host, int(done.stdout), time.time() + 600)
    write_tag(target, gone.text())
    assert f"its process {gone.pid} is gone" in (break_stale(target) or "")
    assert LEASE_TAG not in scale_set(target)["tags"]
    assert break_stale(target) is None  # nothing to break


def test_flexchaos_rollback_breaks_the_lease_a_killed_run_left(
    target: FleetTarget, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    entry = new_entry(target, "stop", "vm-0", run="killed-run")
    journal.record_injected(entry)
    journal.record_reverted(entry.id, "reverted before the kill")
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    write_tag(target, LeaseRecord("killed-run", socket.gethostname(), int(done.stdout),
                                  time.time() + 600).text())  # fmt: skip
    result = flexchaos("rollback", "--journal", str(journal.path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broke the stale lease of run killed-run" in result.stdout, result.stdout
    assert LEASE_TAG not in scale_set(target)["tags"]


def test_rollback_breaks_the_lease_of_a_run_killed_before_its_first_fault(
    target: FleetTarget, tmp_path: Path
) -> None:
    """Killed in its baseline: no fault was journaled, only the lease (journaled before its
    tag). The kill matrix found the next run refused until the lease expired."""
    journal = Journal(tmp_path / "journal.jsonl")
    journal.record_leased(target, "killed-in-baseline")
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    write_tag(target, LeaseRecord("killed-in-baseline", socket.gethostname(), int(done.stdout),
                                  time.time() + 600).text())  # fmt: skip
    result = flexchaos("rollback", "--journal", str(journal.path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broke the stale lease of run killed-in-baseline" in result.stdout, result.stdout
    assert LEASE_TAG not in scale_set(target)["tags"]
    again = flexchaos("rollback", "--journal", str(journal.path))
    assert again.returncode == 0 and "stale lease" not in again.stdout, again.stdout
