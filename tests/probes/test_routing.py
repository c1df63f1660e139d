"""The routing probe: the load balancer's per-backend state on a tick, as timeline rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from probes.routing import RoutingProbe
from probes.timeline import ROUTING_COLUMNS, Timeline
from tests.waiting import wait_for


@dataclass(frozen=True)
class FakeBackend:
    """Shaped like fleet.load_balancer.BackendRouting for what the probe reads."""

    instance: str
    routed: bool
    reason: str | None


def test_routing_probe_records_each_backend_each_tick() -> None:
    backends = [
        FakeBackend("vm-0", True, "Up_Probe_Success"),
        FakeBackend("vm-1", False, "Down_Probe_HttpStatusCodeError"),
        FakeBackend("vm-2", False, None),  # no status: the VM is off
    ]
    probe = RoutingProbe(lambda: backends, tick_s=0.02, max_duration_s=10).start()
    wait_for(lambda: len(probe.frame()) >= 15, timeout=5, what="five ticks")
    frame = probe.stop()
    assert list(frame.columns) == list(ROUTING_COLUMNS)
    assert all(t == ["vm-0", "vm-1", "vm-2"] for t in frame.groupby("time")["instance"].apply(list))
    states = frame.drop_duplicates("instance").set_index("instance")
    assert states["state"].to_dict() == {"vm-0": "up", "vm-1": "down", "vm-2": "down"}
    assert states.loc["vm-1", "reason"] == "Down_Probe_HttpStatusCodeError"
    assert states["reason"].isna()["vm-2"]
    count = len(probe.frame())
    assert not probe._loop.alive and len(probe.frame()) == count  # stopped means stopped


def test_a_failed_query_is_counted_not_fatal_and_the_probe_is_bounded() -> None:
    calls = {"n": 0}

    def flaky() -> list[FakeBackend]:
        calls["n"] += 1
        if calls["n"] % 3 == 0:
            raise RuntimeError("HTTP 429 TooManyRequests")
        return [FakeBackend("vm-0", True, "Up_Probe_Success")]

    probe = RoutingProbe(flaky, tick_s=0.01, max_duration_s=10, max_ticks=9).start()
    wait_for(lambda: not probe._loop.alive, timeout=5, what="the tick bound")
    frame = probe.stop()
    assert calls["n"] == 9 and len(frame) == 6 and len(probe.failed_queries()) == 3
    assert "429" in probe.failed_queries()[0][1]
    assert probe.tick_stats().ticks == 9


def test_the_routing_table_is_part_of_the_timeline(tmp_path: Path) -> None:
    rows = [{"time": 1.0, "instance": "vm-0", "state": "down", "reason": "Down_Probe_X"}]
    timeline = Timeline.build(routing=rows)
    assert timeline.routing["state"].tolist() == ["down"]
    empty = Timeline.build().routing
    assert empty.empty and list(empty) == list(ROUTING_COLUMNS)
    folder = timeline.write(tmp_path)
    assert Timeline.read(folder).routing.equals(timeline.routing)
    (folder / "routing.jsonl").unlink()  # a timeline written before the routing table existed
    assert Timeline.read(folder).routing.empty
