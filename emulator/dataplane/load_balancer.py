"""A layer-4 TCP load balancer: one frontend on 127.0.0.1, a backend pool, a probe per backend.

Semantics are Azure Standard Load Balancer's (docs/azure-behaviour.md §4):
- each new connection (flow) goes to a backend chosen by a hash of its 5-tuple over the
  backends whose probe is up; the choice is never revisited;
- a failed connect to the chosen backend is not retried elsewhere and does not mark the backend
  down: the client's connection is reset and counted as a failed relay;
- flows established to a backend that goes probe-down continue until the backend ends them;
  a reset from either side is passed on as a reset;
- with no backend up, new connections are reset;
- a new flow to a backend whose VM is not running (black-holed: the VM cannot answer, and the
  load balancer forwards without answering for it) gets no answer: the connection is held
  silent until the client gives up or the load balancer's idle timeout passes, then reset.
  On Azure the client's SYN goes unanswered (a connect timeout); through this proxy the
  handshake with the frontend completes and the client waits for its first byte (a read
  timeout): either way the client's own timeout ends the request. With `blackhole=False`
  (the topology's `stopped_vm_flows = "refuse"`) the flow is reset at once.

The relay is two `asyncio.Protocol`s wired to each other: `data_received` writes straight into
the other side's transport, write-buffer high/low water marks pause/resume reading on the other
side (back-pressure), and EOF is passed on with `write_eof` (half-close). On uvloop this design
came closest to HAProxy in a prior measurement on this machine (asyncio streams cost 1.1-1.7x the
CPU per request, threads gained nothing); bench/bench_load_balancer.py measures this
implementation against HAProxy (bench/results/load_balancer.md).
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any, cast

from emulator.clock import Clock
from emulator.dataplane.backend import Backend
from emulator.dataplane.lb_probe import MAX_PROBES_PER_S, BackendProbe, ProbeSettings

__all__ = ["Backend", "LoadBalancer"]
from emulator.dataplane.vm_app import reset_transport
from emulator.truth import Truth

CONNECT_TIMEOUT_S = 10.0
IDLE_TIMEOUT_PLATFORM_S = 240.0  # Azure's default TCP idle timeout (4 min): bounds a held flow


class _Side(asyncio.Protocol):
    """One end of a relayed flow; `peer` is the other end."""

    __slots__ = ("backend", "counted", "eof", "lb", "peer", "pending", "spoke", "transport")

    def __init__(self, lb: LoadBalancer, backend: Backend | None = None) -> None:
        self.lb = lb
        self.backend = backend
        self.peer: _Side | None = None
        self.transport: asyncio.Transport | None = None
        self.eof = False
        self.pending: list[bytes] = []  # what arrived before the other end was wired
        self.spoke = False  # this end sent at least one byte
        self.counted = False  # this flow was counted as a failed relay

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.spoke = True
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)
        else:
            self.pending.append(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        self._count_if_unanswered(peer)
        if peer is None or peer.transport is None or peer.transport.is_closing():
            return False
        if peer.eof:
            return False  # both directions are finished: close (connection_lost closes the peer)
        peer.transport.write_eof()
        return True  # keep sending the other direction (half-close)

    def pause_writing(self) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.pause_reading()

    def resume_writing(self) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.transport.is_closing():
            peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        peer = self.peer
        self.peer = None
        if peer is None:
            if isinstance(self, _ClientSide):
                self.lb._unhold(self)  # a held flow the client gave up on
            return
        peer.peer = None
        if peer.transport is None or peer.transport.is_closing():
            return
        if exc is not None:
            self._count_once()  # the backend reset the flow
            reset_transport(peer.transport)
        else:
            self._count_if_unanswered(peer)
            peer.transport.close()  # flushes what is buffered, then FIN

    def _count_if_unanswered(self, client: _Side | None) -> None:
        """A backend that closes a flow the client spoke on without answering a byte failed
        it (a stopping app); a client that connects and leaves silently failed nothing."""
        if not self.spoke and client is not None and client.spoke:
            self._count_once()

    def _count_once(self) -> None:
        if self.backend is not None and not self.counted:
            self.counted = True
            self.lb._count_failure(self.backend)


class _ClientSide(_Side):
    """The frontend end of a flow: picks a backend and connects to it."""

    __slots__ = ("connecting",)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.connecting = False
        backend = self.lb._choose(transport)
        if backend is None:
            self.lb._count_failure(None)
            reset_transport(transport)
            return
        backend.relays += 1
        self.lb.relays += 1
        if backend.blackholed and self.lb.blackhole:
            self.lb._hold(self, backend)
            return
        self.connecting = True
        self._connect(backend)

    def data_received(self, data: bytes) -> None:
        self.spoke = True
        if self.backend is not None and self.peer is None and not self.connecting:
            return  # a held (black-holed) flow: nothing reads what the client sends
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)
        elif self.connecting:  # the backend connection is not there yet: hold the bytes
            self.pending.append(data)
            if self.transport is not None:
                self.transport.pause_reading()

    def eof_received(self) -> bool:
        if self.connecting:
            self.eof = True
            return True  # passed on once the backend connection exists
        return super().eof_received()

    def _connect(self, backend: Backend) -> None:
        """Connect to the backend: a task for the loop's connect, a timer for its timeout, and
        a callback when it is done (no coroutine of ours: this runs once per flow)."""
        loop = asyncio.get_running_loop()
        task = loop.create_task(
            loop.create_connection(lambda: _Side(self.lb, backend), backend.host, backend.port)
        )
        self.lb._connects.add(task)  # a strong reference while it runs, and for stop()
        timer = loop.call_later(self.lb.connect_timeout, task.cancel)
        task.add_done_callback(lambda done: self._connected(done, backend, timer))

    def _connected(
        self, done: asyncio.Task[Any], backend: Backend, timer: asyncio.TimerHandle
    ) -> None:
        timer.cancel()
        self.lb._connects.discard(done)
        self.connecting = False
        if done.cancelled() or done.exception() is not None:
            self.lb._count_failure(backend)
            if self.transport is not None and not self.transport.is_closing():
                reset_transport(self.transport)
            return
        server = done.result()[1]
        assert isinstance(server, _Side) and server.transport is not None
        client_transport = self.transport
        if client_transport is None or client_transport.is_closing():
            server.transport.close()
            return
        self.peer, server.peer = server, self
        for side, other in ((self, server), (server, self)):
            if side.pending:
                assert other.transport is not None
                other.transport.writelines(side.pending)
                side.pending = []
        if self.eof:
            server.transport.write_eof()
        else:
            client_transport.resume_reading()


class LoadBalancer:
    """The frontend, its backend pool and their probes."""

    def __init__(
        self,
        probe: ProbeSettings | None,
        clock: Clock,
        truth: Truth | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        blackhole: bool = True,
    ) -> None:
        self.probe_settings = probe
        self.clock = clock
        self.truth = truth
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.blackhole = blackhole
        self.held_flows = 0  # flows black-holed so far (all counted in failed_relays)
        self._held: dict[_ClientSide, asyncio.TimerHandle] = {}
        self.relays = 0
        self.failed_relays = 0
        self._backends: dict[str, Backend] = {}
        self._up: list[Backend] | None = []
        self._server: asyncio.AbstractServer | None = None
        self._connects: set[asyncio.Task[Any]] = set()

    # --- frontend --------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen on the frontend (port 0 = a free port, read back from .port)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _ClientSide(self), self.host, self.port, reuse_address=True, backlog=4096
        )
        self.port = self._server.sockets[0].getsockname()[1]
        for backend in self._backends.values():
            if backend.probe is not None:
                backend.probe.start()

    async def stop(self) -> None:
        """Stop listening and probing; flows in progress are reset."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for backend in list(self._backends.values()):
            if backend.probe is not None:
                await backend.probe.stop()
        for task in list(self._connects):
            task.cancel()
        for side, timer in list(self._held.items()):
            timer.cancel()
            if side.transport is not None and not side.transport.is_closing():
                reset_transport(side.transport)
        self._held.clear()

    # --- pool ------------------------------------------------------------------------------------
    @property
    def backends(self) -> list[Backend]:
        return list(self._backends.values())

    def backend(self, vm: str) -> Backend | None:
        return self._backends.get(vm)

    def add_backend(self, vm: str, host: str, port: int, up: bool = False) -> Backend:
        """Add a pool member: down until its first successful probe, unless `up` (a member
        that was already in rotation, like the emulator's initial fleet) or there is no probe."""
        existing = self._backends.get(vm)
        if existing is not None:
            return existing
        backend = Backend(vm=vm, host=host, port=port, up=up or self.probe_settings is None)
        if self.probe_settings is not None:
            settings = self.probe_settings
            backend.probe = BackendProbe(
                host,
                settings,
                self.clock,
                lambda up: self._mark(backend, up),
                up=backend.up,
                min_wall_interval=self._probe_pace,
            )
            if self._server is not None:
                backend.probe.start()
        self._backends[vm] = backend
        self._refresh()
        return backend

    async def remove_backend(self, vm: str) -> None:
        """Take a member out of the pool: no new flows; its existing flows are left alone."""
        backend = self._backends.pop(vm, None)
        if backend is None:
            return
        if backend.probe is not None:
            await backend.probe.stop()
        self._refresh()

    def set_blackholed(self, vm: str, blackholed: bool) -> None:
        """Whether the VM can answer at all (see the module docstring); its probe sees the same."""
        backend = self._backends.get(vm)
        if backend is None:
            return
        backend.blackholed = blackholed
        if backend.probe is not None:
            backend.probe.blackholed = blackholed and self.blackhole

    def _hold(self, side: _ClientSide, backend: Backend) -> None:
        """A black-holed flow: counted as failed at once, held silent, reset after the idle
        timeout if the client has not given up by then (connection_lost releases it)."""
        side.backend = backend
        side.counted = True
        self.held_flows += 1
        self._count_failure(backend)
        timer = asyncio.get_running_loop().call_later(
            self.clock.wall(IDLE_TIMEOUT_PLATFORM_S), self._release, side
        )
        self._held[side] = timer

    def _release(self, side: _ClientSide) -> None:
        self._held.pop(side, None)
        if side.transport is not None and not side.transport.is_closing():
            reset_transport(side.transport)

    def _unhold(self, side: _ClientSide) -> None:
        timer = self._held.pop(side, None)
        if timer is not None:
            timer.cancel()

    def _probe_pace(self) -> float:
        """The shortest wall interval between two probes of one backend, so that the whole
        pool is probed at most MAX_PROBES_PER_S times a second."""
        return len(self._backends) / MAX_PROBES_PER_S

    def set_probed(self, vm: str, probed: bool) -> None:
        """Whether the VM is probed at all (stopped and deallocated VMs are not)."""
        backend = self._backends.get(vm)
        if backend is not None and backend.probe is not None:
            backend.probe.probed = probed

    def _mark(self, backend: Backend, up: bool) -> None:
        backend.up = up
        self._refresh()
        if self.truth is not None:
            self.truth.record("probe_up" if up else "probe_down", backend.vm, address=backend.host)

    def _refresh(self) -> None:
        self._up = None  # rebuilt on the next new flow: marks come in bursts, flows in floods

    # --- flows -----------------------------------------------------------------------------------
    def _choose(self, transport: asyncio.Transport) -> Backend | None:
        up = self._up
        if up is None:
            up = self._up = sorted((b for b in self._backends.values() if b.up), key=lambda b: b.vm)
        if not up:
            return None
        src = transport.get_extra_info("peername")
        five_tuple = (src[0], src[1], self.host, self.port, socket.IPPROTO_TCP)
        return up[hash(five_tuple) % len(up)]

    def _count_failure(self, backend: Backend | None) -> None:
        self.failed_relays += 1
        if backend is not None:
            backend.failed_relays += 1

    def snapshot(self) -> dict[str, Any]:
        """GET /_emulator/lb: totals and per-backend state and counters."""
        return {
            "url": self.url,
            "relays": self.relays,
            "failed_relays": self.failed_relays,
            "held_flows": self.held_flows,
            "backends": [b.to_json() for b in sorted(self._backends.values(), key=lambda b: b.vm)],
        }
