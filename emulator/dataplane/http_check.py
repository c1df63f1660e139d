"""One health check over a fresh connection: what both the load balancer's probe and the
Application Health extension send. Each check opens its own connection and closes it, as the
real probers do, so a check sees exactly what a new client would see.

`http_check` and `tcp_check` say how a check went (answered, refused, timed out before or after
the handshake), which the load balancer's health status reports as a reason code
(emulator/dataplane/probe_reasons.py); `http_status` and `tcp_connects` are the short forms.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from typing import Literal

_INSECURE_TLS = ssl.create_default_context()
_INSECURE_TLS.check_hostname = False
_INSECURE_TLS.verify_mode = ssl.CERT_NONE  # the extension skips certificate validation

Outcome = Literal["answered", "refused", "timeout", "no_answer"]


@dataclass(frozen=True)
class Check:
    """How one check went.

    answered: a status line came back (HTTP) or the handshake completed (TCP); refused: the
    connection was refused or reset before the handshake completed; timeout: nothing within the
    time; no_answer: connected, but the connection closed or the answer was not HTTP.
    `connected` says whether the TCP handshake completed (a timeout after it is the app's).
    """

    outcome: Outcome
    status: int | None = None
    connected: bool = False


async def http_check(
    host: str,
    port: int,
    path: str,
    timeout: float,
    *,
    tls: bool = False,
    user_agent: str = "flexchaos-probe",
) -> Check:
    """`GET path` on a new connection, within `timeout` wall seconds. Redirects are not
    followed (the caller decides which statuses pass)."""
    writer: asyncio.StreamWriter | None = None
    connected = False
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=_INSECURE_TLS if tls else None
            )
            connected = True
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {user_agent}\r\n"
                "Connection: close\r\n\r\n".encode("latin-1")
            )
            status_line = await reader.readline()
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            return Check("no_answer", connected=True)
        return Check("answered", int(parts[1]), connected=True)
    except TimeoutError:
        return Check("timeout", connected=connected)
    except (OSError, ValueError, ssl.SSLError, asyncio.IncompleteReadError):
        return Check("no_answer" if connected else "refused", connected=connected)
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


MAX_BODY_BYTES = 64 * 1024


async def http_get(
    host: str,
    port: int,
    path: str,
    timeout: float,
    *,
    tls: bool = False,
    user_agent: str = "flexchaos-probe",
) -> tuple[int | None, bytes]:
    """`GET path` on a new connection with `Connection: close`: the status (None when the
    connection or the answer failed or took longer than `timeout` wall seconds) and the body
    (up to MAX_BODY_BYTES). What the Rich-health extension reads."""
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=_INSECURE_TLS if tls else None
            )
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: {user_agent}\r\n"
                "Connection: close\r\n\r\n".encode("latin-1")
            )
            raw = await reader.read(MAX_BODY_BYTES)
            while len(raw) < MAX_BODY_BYTES and (more := await reader.read(MAX_BODY_BYTES)):
                raw += more
    except (TimeoutError, OSError, ValueError, ssl.SSLError, asyncio.IncompleteReadError):
        return None, b""
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    parts = head.split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return None, b""
    return int(parts[1]), body


async def http_status(
    host: str,
    port: int,
    path: str,
    timeout: float,
    *,
    tls: bool = False,
    user_agent: str = "flexchaos-probe",
) -> int | None:
    """The status code of `GET path`, or None when the connection or the answer failed or
    took longer than `timeout` wall seconds. Redirects are not followed (they are failures)."""
    check = await http_check(host, port, path, timeout, tls=tls, user_agent=user_agent)
    return check.status


async def tcp_check(host: str, port: int, timeout: float) -> Check:
    """Whether a TCP handshake with (host, port) completes within `timeout` wall seconds."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return Check("timeout")
    except OSError:
        return Check("refused")
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return Check("answered", connected=True)


async def tcp_connects(host: str, port: int, timeout: float) -> bool:
    """Whether a TCP handshake with (host, port) completes within `timeout` wall seconds."""
    return (await tcp_check(host, port, timeout)).outcome == "answered"
