"""The capacity and traffic probes: bounded threads that record timeline rows."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

import pytest

from flexchaos.errors import FlexchaosError
from probes.capacity import CapacityProbe
from probes.traffic import TrafficProbe
from tests.probes.local_server import LocalServer
from tests.waiting import wait_for


@dataclass(frozen=True)
class FakeInstance:
    """Shaped like fleet.inventory.Instance for what the probe reads."""

    name: str
    power_state: str
    health_state: str | None

    @property
    def running(self) -> bool:
        return self.power_state == "running"

    @property
    def healthy(self) -> bool:
        return self.health_state == "healthy"


def test_capacity_probe_samples_every_instance_each_tick_and_stops() -> None:
    fleet = [FakeInstance("vm-0", "running", "healthy"), FakeInstance("vm-1", "stopped", None)]
    probe = CapacityProbe(lambda: fleet, tick_s=0.02, max_duration_s=10).start()
    wait_for(lambda: len(probe.frame()) >= 10, timeout=5, what="five ticks")
    frame = probe.stop()
    ticks = frame.groupby("time")["instance"].apply(sorted).tolist()
    assert all(t == ["vm-0", "vm-1"] for t in ticks)
    assert frame.loc[frame["instance"] == "vm-1", "running"].eq(False).all()
    assert frame.loc[frame["instance"] == "vm-0", "healthy"].all()
    count = len(probe.frame())
    assert not probe._loop.alive and len(probe.frame()) == count  # stopped means stopped


def test_capacity_probe_latest_is_the_last_read_only_and_strings_are_shared() -> None:
    """The abort check and the recovery wait read the last read, never the whole table; a
    1000-VM run keeps millions of rows, each VM name and state stored once."""
    reads = iter([
        [FakeInstance("vm-0", "running", "healthy"), FakeInstance("vm-1", "running", "healthy")],
        [FakeInstance("vm-0", "stopped", None), FakeInstance("vm-1", "running", "healthy")],
    ])  # fmt: skip
    probe = CapacityProbe(lambda: next(reads), tick_s=0.01, max_duration_s=10)
    assert probe.latest().empty
    probe.sample()
    probe.sample()
    latest = probe.latest()
    assert len(latest) == 2 and latest["time"].nunique() == 1
    assert latest.set_index("instance")["power_state"].to_dict() == {
        "vm-0": "stopped", "vm-1": "running"
    }  # fmt: skip
    assert int(latest["healthy"].sum()) == 1
    assert len(probe.frame()) == 4 and list(probe.frame().columns) == list(probe.columns)
    names = probe._data["instance"]
    assert names[0] is names[2]  # the same VM's name, kept once


def test_capacity_probe_latest_keeps_the_last_good_read_when_one_fails() -> None:
    calls = {"n": 0}

    def source() -> list[FakeInstance]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("429 Too Many Requests")
        return [FakeInstance("vm-0", "running", "healthy")]

    probe = CapacityProbe(source, tick_s=0.01, max_duration_s=10)
    probe.sample()
    first = float(probe.latest()["time"].iloc[0])
    probe.sample()  # failed: the latest read is still the first (older: callers check its time)
    assert float(probe.latest()["time"].iloc[0]) == first and len(probe.errors) == 1


def test_capacity_probe_survives_a_failing_source_and_is_bounded() -> None:
    calls = {"n": 0}

    def flaky() -> list[FakeInstance]:
        calls["n"] += 1
        if calls["n"] % 2 == 0:
            raise RuntimeError("429 Too Many Requests")
        return [FakeInstance("vm-0", "running", "healthy")]

    probe = CapacityProbe(flaky, tick_s=0.01, max_duration_s=10, max_ticks=6).start()
    wait_for(lambda: not probe._loop.alive, timeout=5, what="the tick bound")
    frame = probe.stop()
    assert calls["n"] == 6 and len(frame) == 3 and len(probe.errors) == 3
    assert "429" in probe.errors[0][1]


def test_traffic_probe_uses_a_fresh_connection_per_request() -> None:
    with LocalServer("web-7") as server:
        probe = TrafficProbe(server.url, rate_hz=100, max_duration_s=10, max_requests=20).start()
        wait_for(lambda: not probe._loop.alive, timeout=10, what="20 probe requests")
        frame = probe.stop()
        assert len(frame) == 20 and frame["ok"].all()
        assert set(frame["served_by"]) == {"web-7"} and set(frame["source"]) == {"probe"}
        assert server.connections == 20 == server.requests
        keepalive = TrafficProbe(server.url, rate_hz=100, fresh_connection=False, max_requests=5)
        keepalive.start()
        wait_for(lambda: not keepalive._loop.alive, timeout=10, what="5 probe requests")
        keepalive.stop()
        assert server.connections == 21 and server.requests == 25


def test_traffic_probe_keeps_its_schedule_while_requests_hang() -> None:
    with LocalServer("slow", mode="hang") as server:
        probe = TrafficProbe(server.url, rate_hz=50, timeout_s=5, max_duration_s=30).start()
        wait_for(lambda: server.requests >= 5, timeout=10, what="5 requests in flight at once")
        assert probe.frame().empty  # none has answered: they run side by side
        server.release.set()
        wait_for(lambda: len(probe.frame()) >= 5, timeout=10, what="the answers")
        frame = probe.stop()
    assert frame["ok"].all() and set(frame["served_by"]) == {"slow"}


def test_traffic_probe_records_failures_with_their_reason() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    refused = TrafficProbe(f"http://127.0.0.1:{port}/", rate_hz=100, max_requests=3)
    rows = [refused.request_once() for _ in range(3)]
    refused.stop()
    assert [r["ok"] for r in rows] == [False] * 3 and rows[0]["status"] == 0
    assert "ConnectError" in rows[0]["error"]
    with LocalServer(mode="error") as server:
        errored = TrafficProbe(server.url, rate_hz=100)
        row = errored.request_once()
        errored.stop()
        assert row["ok"] is False and row["status"] == 500 and row["error"] == "HTTP 500"


def test_bad_probe_settings_are_refused() -> None:
    with pytest.raises(FlexchaosError, match="rate"):
        TrafficProbe("http://127.0.0.1:1/", rate_hz=0)
    with pytest.raises(FlexchaosError, match="interval"):
        CapacityProbe(list, tick_s=0)


def test_traffic_probe_recent_is_the_window_the_abort_check_reads() -> None:
    with LocalServer("web-1") as server:
        probe = TrafficProbe(server.url, rate_hz=100, timeout_s=1.0)
        first = [probe.request_once() for _ in range(3)]
        cut = max(r["start"] for r in first) + 1e-6
        wait_for(lambda: time.time() > cut, timeout=5, what="the clock to pass the cut")
        later = [probe.request_once() for _ in range(2)]
        probe.stop()
    window = probe.recent(cut)
    assert sorted(window["start"]) == sorted(r["start"] for r in later)
    assert len(probe.recent(0.0)) == 5 == len(probe.frame())
    assert probe.recent(time.time() + 60).empty
