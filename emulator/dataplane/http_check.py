"""One health check over a fresh connection: what both the load balancer's probe and the
Application Health extension send. Each check opens its own connection and closes it, as the
real probers do, so a check sees exactly what a new client would see.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

_INSECURE_TLS = ssl.create_default_context()
_INSECURE_TLS.check_hostname = False
_INSECURE_TLS.verify_mode = ssl.CERT_NONE  # the extension skips certificate validation


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
            status_line = await reader.readline()
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            return None
        return int(parts[1])
    except (OSError, TimeoutError, ValueError, ssl.SSLError, asyncio.IncompleteReadError):
        return None
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def tcp_connects(host: str, port: int, timeout: float) -> bool:
    """Whether a TCP handshake with (host, port) completes within `timeout` wall seconds."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return True
