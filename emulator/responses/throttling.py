"""Azure's throttling answers (429 `OperationNotAllowed` with a `TooManyRequests` detail,
`Retry-After`) and the emulator-only account of every budget at GET /_emulator/throttling
(calls per policy and platform minute, throttled answers, fewest tokens left) that
bench/bench_throttling.py reads. The buckets are in emulator/models/throttling.py.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

from aiohttp import web

from emulator.clock import Clock
from emulator.models.errors import Throttled
from emulator.models.throttling import Charge
from emulator.responses._arm import error_response
from emulator.routing import THROTTLING, Route


def throttled_answer(charge: Charge, clock: Clock) -> web.Response:
    """Compute's 429 (troubleshooting-throttling-errors): the exhausted policy named in the
    detail, `Retry-After` in whole seconds (at least 1) and `retry-after-ms` scaled to the
    emulator's clock, the rate-limit headers of the request."""
    wait_platform = max(charge.retry_after_platform_s, 0.001)
    wait_wall = clock.wall(wait_platform)
    now = datetime.now(UTC)
    detail = {
        "operationGroup": charge.throttled,
        "startTime": now.isoformat(),
        "retryAfterPlatformSeconds": round(wait_platform, 3),
    }
    error = Throttled(
        "The server rejected the request because too many requests have been received for "
        "this subscription.",
        budget=charge.throttled or "",
        detail=json.dumps(detail),
    )
    headers = dict(charge.headers)
    headers["Retry-After"] = str(max(1, math.ceil(wait_wall)))
    headers["retry-after-ms"] = str(max(1, math.ceil(wait_wall * 1000)))
    return error_response(error, headers)


async def throttling_stats(request: web.Request) -> web.Response:
    return web.json_response(request.app[THROTTLING].stats())


ROUTES = [Route("GET", "/_emulator/throttling", throttling_stats)]
