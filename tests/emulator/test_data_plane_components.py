"""The data plane's parts on their own, over real sockets: VM apps behind the load balancer,
its probes and the Application Health extension, with a scaled clock and no control plane."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import pytest
import uvloop

from emulator.clock import Clock
from emulator.dataplane.health_extension import ExtensionSettings, HealthExtensionProber
from emulator.dataplane.lb_probe import BackendProbe, ProbeSettings
from emulator.dataplane.load_balancer import LoadBalancer
from emulator.dataplane.vm_app import VmApp
from emulator.truth import Truth
from tests.waiting import until

T = TypeVar("T")
TEST_TIMEOUT_S = 20.0


def run(test: Callable[[], Awaitable[T]]) -> T:
    """Run one async test body on uvloop (as the emulator runs), bounded in time."""

    async def bounded() -> T:
        return await asyncio.wait_for(test(), TEST_TIMEOUT_S)

    return uvloop.run(bounded())


@asynccontextmanager
async def apps(count: int) -> AsyncIterator[list[VmApp]]:
    """`count` VM apps on 127.0.1.101.. sharing one port, as the emulator's VMs do."""
    started: list[VmApp] = []
    first = VmApp("vm-0", "127.0.1.101", 0)
    await first.start()
    started.append(first)
    try:
        for i in range(1, count):
            app = VmApp(f"vm-{i}", f"127.0.1.{101 + i}", first.port)
            await app.start()
            started.append(app)
        yield started
    finally:
        for app in started:
            await app.stop(graceful=False)


@asynccontextmanager
async def balancer(
    backends: list[VmApp], probe: ProbeSettings | None, clock: Clock, truth: Truth
) -> AsyncIterator[LoadBalancer]:
    lb = LoadBalancer(probe, clock, truth)
    for app in backends:
        lb.add_backend(app.name, app.host, app.port)
    await lb.start()
    try:
        yield lb
    finally:
        await lb.stop()


def http_probe(port: int, interval: float = 5.0, threshold: int = 1) -> ProbeSettings:
    return ProbeSettings(
        port=port, protocol="Http", request_path="/health", interval_in_seconds=interval,
        probe_threshold=threshold,
    )  # fmt: skip


async def get_new_connection(url: str) -> tuple[bool, str | None]:
    """`GET /` on a fresh connection (a new flow): (succeeded, X-Served-By)."""
    host, port = url.removeprefix("http://").split(":")
    try:
        async with asyncio.timeout(2.0):
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"GET / HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n\r\n")
            data = await reader.read()
        writer.close()
    except (OSError, TimeoutError):
        return False, None
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    if not head[0].startswith("HTTP/1.1 200"):
        return False, None
    headers = dict(line.split(": ", 1) for line in head[1:])
    return True, headers.get("X-Served-By")


# ----- VM app ---------------------------------------------------------------------------------


def test_app_serves_keep_alive_and_reports_health() -> None:
    async def body() -> None:
        async with (
            apps(1) as (app,),
            httpx.AsyncClient(base_url=f"http://{app.host}:{app.port}") as client,
        ):
            first = await client.get("/")
            second = await client.get("/")
            assert first.status_code == second.status_code == 200
            assert first.headers["x-served-by"] == "vm-0"
            assert app.connections == 1  # both requests went over one keep-alive connection
            assert (await client.get("/health")).status_code == 200
            app.healthy = False
            assert (await client.get("/health")).status_code == 503
            assert (await client.get("/")).status_code == 200  # only /health reflects it
            assert (await client.get("/nope")).status_code == 404
            closing = await client.get("/", headers={"Connection": "close"})
            assert closing.headers["connection"] == "close"
            await until(lambda: app.connections == 0, 2, "the app to close the connection")

    run(body)


def test_app_pipelined_requests_are_answered_in_order() -> None:
    async def body() -> None:
        async with apps(1) as (app,):
            reader, writer = await asyncio.open_connection(app.host, app.port)
            writer.write(
                b"GET /?delay_ms=50 HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
            data = await reader.read()  # until the app closes after the second answer
            writer.close()
            assert data.count(b"HTTP/1.1 200 OK") == 2
            assert data.index(b"served by vm-0") < data.index(b"ApplicationHealthState")

    run(body)


def test_graceful_stop_finishes_in_flight_requests_and_refuses_new_ones() -> None:
    async def body() -> None:
        async with apps(1) as (app,), httpx.AsyncClient(timeout=5.0) as client:
            url = f"http://{app.host}:{app.port}"
            in_flight = asyncio.create_task(client.get(url + "/?delay_ms=400"))
            await until(lambda: app._in_flight == 1, 2, "the slow request to arrive")
            stopping = asyncio.create_task(app.stop(graceful=True))
            await until(lambda: not app.running, 2, "the app to stop accepting")
            ok, _ = await get_new_connection(url)
            assert not ok  # nothing listens any more
            assert not stopping.done()  # still draining the in-flight request
            response = await in_flight
            assert response.status_code == 200
            assert response.headers["connection"] == "close"
            assert await stopping == "graceful"
            assert app.connections == 0

    run(body)


def test_abrupt_stop_resets_every_connection() -> None:
    async def body() -> None:
        async with apps(1) as (app,):
            reader, writer = await asyncio.open_connection(app.host, app.port)
            writer.write(b"GET /?delay_ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            await until(lambda: app._in_flight == 1, 2, "the slow request to arrive")
            assert await app.stop(graceful=False) == "abrupt"
            with pytest.raises(ConnectionResetError):
                await reader.read(100)
            writer.close()

    run(body)


# ----- load balancer --------------------------------------------------------------------------


def test_lb_spreads_new_connections_over_every_up_backend() -> None:
    async def body() -> None:
        truth = Truth()
        async with (
            apps(3) as backends,
            balancer(backends, http_probe(backends[0].port), Clock(0.02), truth) as lb,
        ):
            await until(lambda: all(b.up for b in lb.backends), 5, "every probe to be up")
            assert {e.vm for e in truth.events("probe_up")} == {"vm-0", "vm-1", "vm-2"}
            results = [await get_new_connection(lb.url) for _ in range(90)]
            assert all(ok for ok, _ in results)
            served = Counter(vm for _, vm in results)
            assert set(served) == {"vm-0", "vm-1", "vm-2"}
            assert min(served.values()) >= 10, served  # a 5-tuple hash, not one favourite
            snapshot = lb.snapshot()
            assert snapshot["relays"] == 90 and snapshot["failed_relays"] == 0
            assert {b["vm"]: b["relays"] for b in snapshot["backends"]} == dict(served)

    run(body)


def test_stopped_backend_fails_new_flows_until_its_probe_marks_it_down() -> None:
    """Azure's LB neither retries elsewhere nor reacts to failed connects: only the probe
    takes the backend out, so failures happen exactly until probe_down."""

    async def body() -> None:
        truth = Truth()
        clock = Clock(0.1)  # probe every 0.5 s wall: the client sees the gap
        async with (
            apps(3) as backends,
            balancer(backends, http_probe(backends[0].port), clock, truth) as lb,
        ):
            await until(lambda: all(b.up for b in lb.backends), 5, "every probe to be up")
            await backends[1].stop(graceful=False)
            stopped_at = time.time()
            outcomes: list[tuple[float, bool, str | None]] = []
            # bounded in time, not in count: on a fast machine 5,000 refused or quick flows
            # came before the probe's 0.5 s mark-down (a CI failure)
            deadline = stopped_at + clock.wall(5) + 5.0
            while not truth.events("probe_down", "vm-1") and time.time() < deadline:
                started = time.time()
                ok, vm = await get_new_connection(lb.url)
                outcomes.append((started, ok, vm))
            marked = truth.events("probe_down", "vm-1")
            assert marked, f"vm-1 not marked down {time.time() - stopped_at:.1f} s after its stop"
            probe_down = marked[0].time
            assert probe_down - stopped_at <= clock.wall(5) + 0.3
            failures = [t for t, ok, _ in outcomes if not ok]
            assert failures, "some new flows must have been sent to the stopped backend"
            assert all(t < probe_down for t in failures)
            assert lb.backend("vm-1").failed_relays == len(failures) == lb.failed_relays
            after = [await get_new_connection(lb.url) for _ in range(60)]
            assert all(ok for ok, _ in after)
            assert "vm-1" not in {vm for _, vm in after}

    run(body)


def test_existing_flow_continues_after_probe_down_and_new_flows_avoid_the_backend() -> None:
    async def body() -> None:
        truth = Truth()
        async with (
            apps(2) as backends,
            balancer(backends, http_probe(backends[0].port), Clock(0.02), truth) as lb,
        ):
            await until(lambda: all(b.up for b in lb.backends), 5, "every probe to be up")
            async with httpx.AsyncClient(base_url=lb.url, timeout=2.0) as kept:
                vm = (await kept.get("/")).headers["x-served-by"]
                app = next(a for a in backends if a.name == vm)
                app.healthy = False  # its /health answers 503: the HTTP probe fails
                await until(lambda: truth.events("probe_down", vm), 5, f"{vm} probe_down")
                for _ in range(5):  # the established flow still reaches the same VM
                    response = await kept.get("/")
                    assert response.status_code == 200
                    assert response.headers["x-served-by"] == vm
            fresh = [await get_new_connection(lb.url) for _ in range(30)]
            assert all(ok for ok, _ in fresh)
            assert vm not in {served for _, served in fresh}

    run(body)


def test_no_backend_up_resets_new_connections() -> None:
    async def body() -> None:
        truth = Truth()
        async with (
            apps(2) as backends,
            balancer(backends, http_probe(backends[0].port), Clock(0.02), truth) as lb,
        ):
            await until(lambda: all(b.up for b in lb.backends), 5, "every probe to be up")
            for app in backends:
                app.healthy = False
            await until(lambda: not any(b.up for b in lb.backends), 5, "every probe down")
            host, port = lb.host, lb.port
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            with pytest.raises(ConnectionResetError):
                await reader.read(100)
            writer.close()
            assert lb.failed_relays >= 1

    run(body)


def test_tcp_probe_cannot_see_an_unhealthy_app_but_http_probe_can() -> None:
    async def body() -> None:
        clock = Clock(0.02)
        async with apps(1) as (app,):
            tcp = ProbeSettings(port=app.port, protocol="Tcp", request_path=None)
            states: list[bool] = []
            tcp_probe = BackendProbe(app.host, tcp, clock, states.append)
            http = BackendProbe(app.host, http_probe(app.port), clock, states.append)
            app.healthy = False
            await tcp_probe.tick()
            assert tcp_probe.up  # the handshake works: a TCP probe sees no problem
            await http.tick()
            assert not http.up  # 503 is a failure

    run(body)


def test_probe_threshold_marks_down_after_consecutive_failures_and_up_after_one_success() -> None:
    async def body() -> None:
        clock = Clock(0.02)
        async with apps(1) as (app,):
            changes: list[bool] = []
            probe = BackendProbe(app.host, http_probe(app.port, threshold=3), clock, changes.append)
            await probe.tick()
            assert probe.up and changes == [True]
            app.healthy = False
            await probe.tick()
            await probe.tick()
            assert probe.up  # two failures are under the threshold of 3
            await probe.tick()
            assert not probe.up and changes == [True, False]
            app.healthy = True
            await probe.tick()
            assert probe.up and changes == [True, False, True]  # one success is enough
            probe.probed = False  # the VM is stopped: not probed, down at its next tick
            before = probe.probes
            await probe.tick()
            assert not probe.up and probe.probes == before

    run(body)


# ----- Application Health extension ----------------------------------------------------------


def test_binary_extension_commits_its_first_result_then_needs_consecutive_results() -> None:
    """Binary health states (handler 1.0): Healthy/Unhealthy only, no Initializing; the first
    result is committed at once, a change needs numberOfProbes identical results."""

    async def body() -> None:
        clock = Clock(0.02)
        async with apps(1) as (app,):
            reported: list[tuple[str, str]] = []
            settings = ExtensionSettings.from_arm(
                {"protocol": "http", "requestPath": "/health", "intervalInSeconds": 5,
                 "numberOfProbes": 2},
                app_port=app.port,
            )  # fmt: skip
            assert not settings.rich
            prober = HealthExtensionProber(
                app.name, app.host, settings, clock, lambda vm, s: reported.append((vm, s))
            )
            prober.start()
            await until(lambda: prober.state == "Healthy", 3, "Healthy")
            assert prober.probes == 1  # committed at the first result
            app.healthy = False
            probes_at_break = prober.probes
            await until(lambda: prober.state == "Unhealthy", 3, "Unhealthy")
            assert prober.probes - probes_at_break >= 2
            app.healthy = True
            healthy_again = ExtensionSettings.from_arm(
                {"protocol": "http", "requestPath": "/health", "numberOfProbes": 1},
                app_port=app.port,
            )
            await prober.reload(healthy_again)  # the handler restarts with the new settings
            await until(lambda: prober.state == "Healthy", 3, "Healthy again")
            await prober.stop()
            assert [s for _, s in reported] == ["Healthy", "Unhealthy", "Healthy"]

    run(body)


def test_rich_extension_reports_initializing_then_the_apps_state_or_unknown() -> None:
    """Rich health states (handler 2.0): Initializing during the grace period until
    numberOfProbes valid answers; a 2xx JSON body names the state; a non-2xx answer or a body
    without ApplicationHealthState is Unknown; grace expiring without a valid answer: Unknown."""

    async def body() -> None:
        clock = Clock(0.02)
        async with apps(1) as (app,):
            reported: list[str] = []
            settings = ExtensionSettings.from_arm(
                {"protocol": "http", "requestPath": "/health", "intervalInSeconds": 5,
                 "numberOfProbes": 2},
                app_port=app.port,
                handler_version="2.0",
            )  # fmt: skip
            assert settings.rich and settings.grace_period_s == 10  # interval x probes
            prober = HealthExtensionProber(
                app.name, app.host, settings, clock, lambda vm, s: reported.append(s)
            )
            prober.start()
            await until(lambda: prober.state == "Healthy", 3, "Healthy")
            assert reported == ["Initializing", "Healthy"]
            app.healthy = False  # 503: not a valid Rich answer
            await until(lambda: prober.state == "Unknown", 3, "Unknown")
            not_json = ExtensionSettings.from_arm(
                {"protocol": "http", "requestPath": "/", "numberOfProbes": 1, "gracePeriod": 15},
                app_port=app.port,
                handler_version="2.0",
            )  # 200 "served by ...": no ApplicationHealthState
            app.healthy = True
            reported.clear()
            await prober.reload(not_json)
            await until(lambda: reported[-1:] == ["Unknown"], 5, "grace to expire")
            assert reported == ["Initializing", "Unknown"]
            await prober.stop()

    run(body)


def test_extension_probe_times_out_after_30_platform_seconds_not_the_interval() -> None:
    """Azure's handler waits 30 s for an answer (main/health.go), whatever the interval: an app
    answering after 15 platform seconds is Healthy."""

    async def body() -> None:
        clock = Clock(0.02)  # 15 platform seconds = 300 ms wall
        async with apps(1) as (app,):
            settings = ExtensionSettings.from_arm(
                {"protocol": "http", "requestPath": "/?delay_ms=300", "intervalInSeconds": 5},
                app_port=app.port,
            )
            assert settings.timeout_platform_s == 30
            prober = HealthExtensionProber(app.name, app.host, settings, clock, lambda *_: None)
            prober.start()
            await until(lambda: prober.probes >= 1, 5, "one probe")
            assert prober.state == "Healthy"
            await prober.stop()

    run(body)


def test_extension_settings_fall_back_to_azure_defaults_and_bounds() -> None:
    settings = ExtensionSettings.from_arm({"protocol": "TCP", "intervalInSeconds": 1}, 8080)
    assert settings.protocol == "tcp" and settings.port == 8080
    assert settings.interval_in_seconds == 5 and settings.number_of_probes == 1
    assert ExtensionSettings.from_arm({"port": 9000, "numberOfProbes": 99}, 1).port == 9000
    assert ExtensionSettings.from_arm({"numberOfProbes": 99}, 1).number_of_probes == 24
    rich = ExtensionSettings.from_arm({"gracePeriod": 99999}, 1, handler_version="2.0")
    assert rich.rich and rich.grace_period_s == 14400
    assert ExtensionSettings.from_arm({"gracePeriod": 60}, 1).grace_period_s == 0  # Binary


def test_reset_transport_sends_rst() -> None:
    """The helper both the app and the LB use to drop a connection like a dead host."""

    async def body() -> None:
        async with apps(1) as (app,):
            sock = socket.create_connection((app.host, app.port))
            await until(lambda: app.connections == 1, 2, "the connection")
            await app.stop(graceful=False)
            sock.setblocking(False)
            with pytest.raises(ConnectionResetError):
                await asyncio.get_running_loop().sock_recv(sock, 10)
            sock.close()

    run(body)


def test_failed_relays_count_unanswered_flows_but_not_silent_clients() -> None:
    """A client that connects and leaves without a byte failed nothing; a backend that closes
    a flow the client spoke on without answering (a raw TCP server here) failed it."""

    async def body() -> None:
        async def read_then_close(reader: asyncio.StreamReader, writer: Any) -> None:
            await reader.read(1)  # the client spoke ...
            writer.close()  # ... and the backend closes without answering

        silent = await asyncio.start_server(read_then_close, "127.0.1.121", 0)
        port = silent.sockets[0].getsockname()[1]
        async with balancer([], None, Clock(0.02), Truth()) as lb:
            lb.add_backend("vm-silent", "127.0.1.121", port)
            host, lb_port = lb.url.removeprefix("http://").split(":")
            _, writer = await asyncio.open_connection(host, int(lb_port))
            writer.close()  # connect and leave without a byte
            await until(lambda: lb.relays == 1, 5, "the first flow")
            ok, _ = await get_new_connection(lb.url)  # a request the backend never answers
            assert not ok
            await until(lambda: lb.relays == 2, 5, "the second flow")
            await until(lambda: lb.failed_relays >= 1, 5, "the unanswered flow counted")
            assert lb.snapshot()["failed_relays"] == 1  # the silent client was not counted
        silent.close()
        await silent.wait_closed()

    run(body)
