"""The reference app every running VM serves on its own loopback address.

`GET /` answers 200 and names the VM in `X-Served-By`; `GET /health` answers 200, or 503 once
the app is told to be unhealthy, with the JSON body Rich health states read
(`{"ApplicationHealthState": "Healthy"}`). Load tests go through it at thousands of requests per
second, so it is an `asyncio.Protocol` with a minimal HTTP/1.1 parser and pre-built responses
instead of a framework: a minimal aiohttp app measured 80-90 µs of CPU per keep-alive request
here against 15 µs for this one (wrk, uvloop), and the emulator's load balancer, the backends
and the load generator all share the same two cores.

Supported HTTP: request line + headers, `Content-Length` bodies (read and ignored), keep-alive
(HTTP/1.1 default, `Connection: close` honoured, HTTP/1.0 closes unless keep-alive is asked for),
pipelining, `GET`/`HEAD`. `GET /?delay_ms=N` answers after N ms: a slow or in-flight request for
graceful-stop tests and for harness tests of latency. Anything else gets a short error and close.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from typing import Literal, cast

MAX_HEAD_BYTES = 16 * 1024
MAX_DELAY_MS = 30_000
GRACEFUL_DRAIN_TIMEOUT_S = 10.0
_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST

StopMode = Literal["graceful", "abrupt"]


def _response(status: str, body: bytes, extra: str = "", keep_alive: bool = True) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
        f"{extra}Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def reset_transport(transport: asyncio.BaseTransport) -> None:
    """Close a TCP transport with RST instead of FIN (what a crashed or powered-off host does)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    transport.abort()


class _Responses:
    """Every answer the app gives, built once per VM (and per health state)."""

    def __init__(self, name: str) -> None:
        served = f"X-Served-By: {name}\r\n"
        body = f"served by {name}\n".encode()
        self.root = {ka: _response("200 OK", body, served, ka) for ka in (True, False)}
        self.root_head = {ka: r[: r.index(b"\r\n\r\n") + 4] for ka, r in self.root.items()}
        # the body a Rich-health extension reads (a Binary one and the LB probe read the status)
        healthy, unhealthy = (
            b'{"ApplicationHealthState": "%s"}\n' % state for state in (b"Healthy", b"Unhealthy")
        )
        self.healthy = {ka: _response("200 OK", healthy, served, ka) for ka in (True, False)}
        self.unhealthy = {
            ka: _response("503 Service Unavailable", unhealthy, served, ka) for ka in (True, False)
        }
        self.not_found = {
            ka: _response("404 Not Found", b"not found\n", served, ka) for ka in (True, False)
        }
        self.bad_request = _response("400 Bad Request", b"bad request\n", served, False)
        self.not_allowed = _response(
            "405 Method Not Allowed", b"method not allowed\n", served, False
        )
        self.too_large = _response(
            "431 Request Header Fields Too Large", b"too large\n", served, False
        )


class _Connection(asyncio.Protocol):
    """One client connection: parse requests in order, answer each, honour keep-alive."""

    __slots__ = ("_app", "_buffer", "_busy", "_closing", "transport")

    def __init__(self, app: VmApp) -> None:
        self._app = app
        self._buffer = b""
        self._busy = False  # a delayed response is pending: later requests wait their turn
        self._closing = False
        self.transport: asyncio.Transport | None = None

    # --- asyncio.Protocol -------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transport is not an asyncio.Transport subclass; it sets TCP_NODELAY itself
        self.transport = cast(asyncio.Transport, transport)
        self._app._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._app._connections.discard(self)
        self._app._connection_closed()

    def data_received(self, data: bytes) -> None:
        self._buffer = self._buffer + data if self._buffer else data
        if not self._busy:
            self._process()

    def eof_received(self) -> bool:
        if not self._busy:
            return False  # the client is done (a partial request is dropped): close our side
        self._closing = True  # answer the pending request, then close
        return True

    # --- requests -------------------------------------------------------------------------------
    @property
    def idle(self) -> bool:
        return not self._busy and not self._buffer

    def _process(self) -> None:
        transport = self.transport
        assert transport is not None
        while self._buffer and not self._busy and not transport.is_closing():
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > MAX_HEAD_BYTES:
                    self._finish(self._app._responses.too_large)
                return
            body_length = 0
            head = self._buffer[:end]
            lines = head.split(b"\r\n")
            parts = lines[0].split(b" ")
            if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
                self._finish(self._app._responses.bad_request)
                return
            method, target, version = parts
            keep_alive = version == b"HTTP/1.1"
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                lname = name.strip().lower()
                if lname == b"connection":
                    token = value.strip().lower()
                    if token == b"close":
                        keep_alive = False
                    elif token == b"keep-alive":
                        keep_alive = True
                elif lname == b"content-length":
                    try:
                        body_length = int(value.strip())
                    except ValueError:
                        self._finish(self._app._responses.bad_request)
                        return
                elif lname == b"transfer-encoding":
                    self._finish(self._app._responses.bad_request)  # chunked bodies: not needed
                    return
            if len(self._buffer) < end + 4 + body_length:
                return  # the body is still arriving
            self._buffer = self._buffer[end + 4 + body_length :]
            if self._app._draining:
                keep_alive = False
            self._answer(method, target, keep_alive)

    def _answer(self, method: bytes, target: bytes, keep_alive: bool) -> None:
        app = self._app
        responses = app._responses
        app.requests += 1
        path, _, query = target.partition(b"?")
        if method not in (b"GET", b"HEAD"):
            self._finish(responses.not_allowed)
            return
        if path == b"/":
            response = (responses.root if method == b"GET" else responses.root_head)[keep_alive]
            if query.startswith(b"delay_ms="):
                try:
                    delay_ms = min(MAX_DELAY_MS, max(0, int(query[9:].split(b"&")[0])))
                except ValueError:
                    self._finish(responses.bad_request)
                    return
                self._busy = True
                app._in_flight += 1
                asyncio.get_running_loop().call_later(
                    delay_ms / 1000, self._send_delayed, response, keep_alive
                )
                return
        elif path == b"/health":
            response = (responses.healthy if app.healthy else responses.unhealthy)[keep_alive]
        else:
            response = responses.not_found[keep_alive]
        self._send(response, keep_alive)

    def _send_delayed(self, response: bytes, keep_alive: bool) -> None:
        self._busy = False
        self._app._in_flight -= 1
        if self.transport is None or self.transport.is_closing():
            self._app._connection_closed()
            return
        if self._app._draining:
            keep_alive = False
            response = response.replace(b"Connection: keep-alive", b"Connection: close", 1)
        self._send(response, keep_alive)
        if not self.transport.is_closing():
            self._process()
        self._app._connection_closed()

    def _send(self, response: bytes, keep_alive: bool) -> None:
        assert self.transport is not None
        self.transport.write(response)
        if not keep_alive or (self._closing and not self._buffer):
            self.transport.close()

    def _finish(self, response: bytes) -> None:
        assert self.transport is not None
        self._buffer = b""
        self.transport.write(response)
        self.transport.close()


class VmApp:
    """The app of one VM: start() binds (host, port); stop() drains it or drops every connection."""

    def __init__(self, name: str, host: str, port: int = 0) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.healthy = True
        self.requests = 0
        self._responses = _Responses(name)
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[_Connection] = set()
        self._draining = False
        self._in_flight = 0
        self._drained: asyncio.Event | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def connections(self) -> int:
        return len(self._connections)

    @property
    def in_flight(self) -> int:
        """Delayed requests not answered yet."""
        return self._in_flight

    async def start(self) -> None:
        """Listen on (host, port); port 0 picks a free one (read it back from .port)."""
        if self._server is not None:
            return
        loop = asyncio.get_running_loop()
        self._draining = False
        self._server = await loop.create_server(
            lambda: _Connection(self), self.host, self.port, reuse_address=True, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(
        self, graceful: bool = True, drain_timeout: float = GRACEFUL_DRAIN_TIMEOUT_S
    ) -> StopMode:
        """Stop serving. Graceful: stop accepting, finish in-flight requests, close idle
        keep-alive connections, wait until every connection is gone or `drain_timeout` wall
        seconds pass (then reset what is left, as the end of an OS shutdown does). Abrupt: reset
        every connection at once (SO_LINGER 0), as a powered-off or evicted host does."""
        server, self._server = self._server, None
        if server is None:
            return "graceful" if graceful else "abrupt"
        server.close()
        if not graceful:
            for connection in list(self._connections):
                if connection.transport is not None:
                    reset_transport(connection.transport)
            self._connections.clear()
            return "abrupt"
        self._draining = True
        self._drained = asyncio.Event()
        for connection in list(self._connections):
            if connection.idle and connection.transport is not None:
                connection.transport.close()
        self._connection_closed()
        try:
            await asyncio.wait_for(self._drained.wait(), drain_timeout)
        except TimeoutError:
            for connection in list(self._connections):
                if connection.transport is not None:
                    reset_transport(connection.transport)
            self._connections.clear()
        return "graceful"

    def _connection_closed(self) -> None:
        if self._drained is not None and not self._connections and self._in_flight == 0:
            self._drained.set()
