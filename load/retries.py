"""Make every failed attempt a failed request: turn off geventhttpclient's silent GET retries.

geventhttpclient (under Locust's FastHttpUser) re-sends an idempotent request on a fresh
connection when a connection closes before the response, up to pool size + 1 times, and
reports only the last attempt. Through a load balancer that routes a new flow to a dead backend,
that hides exactly the failures a chaos run measures (measured here: one "request" = three
failed flows). Like a client whose connect is refused by a stopped VM on Azure, each flow is
one attempt and its failure is recorded.
"""

from __future__ import annotations

import geventhttpclient.client as _client


def no_transparent_retries() -> None:
    """Process-wide: an attempt that fails is reported, never retried behind Locust's back."""
    if not hasattr(_client, "_may_retry_after_send_error"):
        raise RuntimeError(
            "geventhttpclient changed its retry hook; pin geventhttpclient "
            "or update load/retries.py"
        )
    _client._may_retry_after_send_error = _never  # type: ignore[attr-defined]


def _never(method: str) -> bool:
    return False
