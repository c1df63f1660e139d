"""The traffic model: users fetching pages through the load balancer's frontend.

Run it with `flexchaos`'s load runner, or by hand:
    FLEXCHAOS_RPS_PER_USER=5 locust -f load/locustfile.py --headless -u 20 -r 20 -t 30s \
        --host http://127.0.0.1:PORT

Knobs (environment variables, read at start):
    FLEXCHAOS_PATHS         request mix, "path=weight,..." (default "/=1")
    FLEXCHAOS_RPS_PER_USER  pacing: requests per second per user; 0 = no wait (default 10)
    FLEXCHAOS_PACING        "random" (default): a uniform random wait in [0, 2/rps] after each
                            request, so users stay out of step; "constant": Locust's
                            constant_throughput (exact rate, but users that stall together
                            stay in step and arrive in bursts)
    FLEXCHAOS_KEEPALIVE     1 = reuse connections; 0 = a new connection (a new flow through the
                            load balancer) per request (default 0)
    FLEXCHAOS_TIMEOUT_S     connect and network timeout of one request, wall seconds (default 5;
                            the harness sets it, see flexchaos/request_timeouts.py). A request
                            to a VM that is not running gets no answer and fails after exactly
                            this long: it bounds the measured errors and latency
    FLEXCHAOS_REQUEST_LOG_DIR  where the per-request JSON-lines log goes (see load/request_log.py)

Replace this file with your own if you like; keep the two `load.` lines below so every request
is still logged and every failed attempt still counts.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

from locust import FastHttpUser, between, constant, constant_throughput, task

import load.request_log  # noqa: F401  (one JSON line per request, one file per process)
from load.env import DEFAULT_TIMEOUT_S, TIMEOUT_ENV
from load.retries import no_transparent_retries

no_transparent_retries()


def request_mix(text: str) -> tuple[list[str], list[float]]:
    """'/=9,/health=1' -> (['/', '/health'], [9.0, 1.0])."""
    paths, weights = [], []
    for item in text.split(","):
        path, _, weight = item.strip().partition("=")
        paths.append(path.strip() or "/")
        weights.append(float(weight) if weight.strip() else 1.0)
    return paths, weights


def pacing(rps_per_user: float, mode: str) -> Callable[..., float]:
    """Wait after each request: about `rps_per_user` requests per second per user."""
    if rps_per_user <= 0:
        return constant(0)
    if mode == "constant":
        return constant_throughput(rps_per_user)
    if mode == "random":
        return between(0, 2 / rps_per_user)
    raise ValueError(f"FLEXCHAOS_PACING={mode!r}: use 'random' or 'constant'")


PATHS, WEIGHTS = request_mix(os.environ.get("FLEXCHAOS_PATHS", "/=1"))
RPS_PER_USER = float(os.environ.get("FLEXCHAOS_RPS_PER_USER", "10"))
PACING = os.environ.get("FLEXCHAOS_PACING", "random")
KEEPALIVE = os.environ.get("FLEXCHAOS_KEEPALIVE", "0") == "1"
TIMEOUT_S = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT_S))


class WebUser(FastHttpUser):
    """One visitor; the host is the load balancer's frontend (`--host`)."""

    wait_time = pacing(RPS_PER_USER, PACING)
    connection_timeout = TIMEOUT_S
    network_timeout = TIMEOUT_S
    default_headers = None if KEEPALIVE else {"Connection": "close"}

    @task
    def page(self) -> None:
        path = random.choices(PATHS, WEIGHTS)[0]
        self.client.get(path, name=path)
