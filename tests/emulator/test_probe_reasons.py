"""The reason codes the load balancer's probe keeps for Azure's health status, over real
sockets (emulator/dataplane/probe_reasons.py)."""

from __future__ import annotations

import socket

import pytest

from emulator.clock import Clock
from emulator.dataplane import probe_reasons as reasons
from emulator.dataplane.http_check import Check
from emulator.dataplane.lb_probe import BackendProbe, ProbeSettings
from tests.emulator.test_data_plane_components import apps, http_probe, run


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.1.120", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("check", "protocol", "reason"),
    [
        (Check("answered", 503, connected=True), "Http", reasons.DOWN_HTTP_STATUS),
        (Check("refused"), "Http", reasons.DOWN_HTTP_UNREACHABLE),
        (Check("timeout", connected=True), "Http", reasons.DOWN_HTTP_NO_RESPONSE),
        (Check("no_answer", connected=True), "Https", reasons.DOWN_HTTP_NO_RESPONSE),
        (Check("timeout"), "Http", reasons.DOWN_TCP_TIMEOUT),
        (Check("refused"), "Tcp", reasons.DOWN_TCP_TIMEOUT),
    ],
)
def test_each_failure_has_azures_code(check: Check, protocol: str, reason: str) -> None:
    assert reasons.failure_reason(check, protocol) == reason


def test_the_probe_keeps_the_reason_of_its_state() -> None:
    async def body() -> None:
        clock = Clock(0.02)
        async with apps(1) as (app,):
            probe = BackendProbe(app.host, http_probe(app.port, threshold=2), clock, lambda _: None)
            assert probe.reason == reasons.NOT_PROBED_YET  # a new backend, not probed yet
            await probe.tick()
            assert probe.up and probe.reason == reasons.UP_SUCCESS
            app.healthy = False
            await probe.tick()  # one failure under the threshold of 2: still up
            assert probe.up and probe.reason == reasons.UP_APPROACHING_UNHEALTHY
            await probe.tick()
            assert not probe.up and probe.reason == reasons.DOWN_HTTP_STATUS
            probe.probed = False  # the VM is off: not probed, no reason (Azure: empty values)
            await probe.tick()
            assert not probe.up and probe.reason is None

    run(body)


def test_a_refused_connection_is_an_unreachable_endpoint() -> None:
    async def body() -> None:
        settings = ProbeSettings(port=_closed_port(), request_path="/health")
        probe = BackendProbe("127.0.1.120", settings, Clock(0.02), lambda _: None, up=True)
        assert probe.reason == reasons.UP_SUCCESS  # in rotation before the emulator started
        await probe.tick()
        assert not probe.up and probe.reason == reasons.DOWN_HTTP_UNREACHABLE

    run(body)
