"""Under ARM faults (30 % of answers 429, each retried by the SDK), the clocks the verdict rests
on stay true: the fault clock starts when the platform accepted the injecting call (the send
time kept beside it), the retried answers are counted as evidence, and a probe's sample is
stamped when its answer came, not when it was asked for."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from emulator.launcher import RunningEmulator
from fleet.guard import GuardLimits
from fleet.injector import Injector
from fleet.inventory import Inventory
from fleet.journal import Journal
from fleet.selection import Selection
from fleet.target import FleetTarget
from probes.capacity import CapacityProbe

LATENCY_MS = 100.0


def test_clocks_hold_under_throttling(
    start_emulator: Callable[..., RunningEmulator], tmp_path: Path
) -> None:
    emu = start_emulator(args=["--seed", "7"])
    target = FleetTarget.from_emulator(emu.info)
    vm = Inventory(target).instances()[0].name
    emu.client.set_control_faults(rate_429=0.3, latency_ms=LATENCY_MS)

    with Injector(target, Journal(tmp_path / "journal.jsonl"), GuardLimits("100%", 0.0)) as chaos:
        injection = chaos.inject("stop", Selection(names=(vm,)))
        accepted = [
            e["time"]
            for e in emu.client.truth("operation_accepted", vm)
            if e["operation"] == "powerOff"
        ]
        assert len(accepted) == 1
        # the platform accepted the call between its first send and the answer the harness got
        assert injection.accepted_at is not None
        assert injection.requested_at <= accepted[0] <= injection.accepted_at
        assert injection.clock_start == injection.accepted_at
        assert injection.accepted_at - injection.requested_at >= LATENCY_MS / 1000
        assert "s wall before accepted" in (injection.sent_note() or "")

        # a sample is stamped in the middle of its listing's last attempt: after any retried
        # answer, at least half the added latency after it was asked for, before it returned
        probe = CapacityProbe(Inventory(target).instances, tick_s=60.0)
        for _ in range(5):
            asked = time.time()
            probe.sample()
            answered = time.time()
            stamp = float(probe.frame()["time"].max())
            retried = [r.time for r in target.clients.call_log.retried_since(asked)]
            assert max([asked, *retried]) + LATENCY_MS / 2000 <= stamp <= answered

    # the SDK's retries are evidence: 429s were answered and counted attempt by attempt
    summary = target.clients.call_log.summary()
    assert summary["throttled_429"] >= 1
    assert summary["throttled_429"] == len(target.clients.call_log.retried_since(0.0))
    emu.client.set_control_faults()


def test_the_preflight_is_not_blocked_by_a_429_the_sdk_retried(
    start_emulator: Callable[..., RunningEmulator],
) -> None:
    """A 429 says its bucket is empty ("…;0") and the SDK's retry then succeeds: the headroom
    the preflight judges is the served answers', so 30 % 429s do not refuse a game day (they
    did: bench/bench_arm_faults.py's 429 runs all ended in "a bucket is empty", exit 2)."""
    from fleet.preflight import run_preflight

    emu = start_emulator(args=["--seed", "7"])
    target = FleetTarget.from_emulator(emu.info)
    emu.client.set_control_faults(rate_429=0.3)
    try:
        for _ in range(3):  # three preflights: ~40 calls, a 429 among them all but certain
            found = run_preflight(target, ["stop", "evict", "chaos-shutdown"])
            headroom = [f for f in found.findings if f.check == "throttling headroom"]
            assert [f.status for f in headroom] == ["ok"], found.text()
            assert found.refusal() is None, found.text()
        assert target.clients.call_log.summary()["throttled_429"] >= 1
    finally:
        emu.client.set_control_faults()
