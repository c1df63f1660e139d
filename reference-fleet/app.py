#!/usr/bin/env python3
"""The flexchaos reference app: what every VM of the reference fleet serves on port 80.

The same endpoints as the emulator's VMs (emulator/dataplane/vm_app.py), so a game day judges
the real fleet the way it judges the emulated one: `GET /` answers 200 and names the VM in
`X-Served-By`; `GET /?delay_ms=N` answers after N ms (at most 30 000: a slow request);
`GET /health` answers 200, or 503 while the file /var/lib/flexchaos/unhealthy exists (touch it
to make one VM unhealthy by hand); anything else is 404. HEAD is answered too. Standard library
only: the marketplace Ubuntu image has python3 and nothing needs installing at boot.

Usage: app.py [PORT [ADDRESS]] (default 80 on every address).
"""

from __future__ import annotations

import os
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

NAME = socket.gethostname()
UNHEALTHY_FILE = os.environ.get("FLEXCHAOS_UNHEALTHY_FILE", "/var/lib/flexchaos/unhealthy")
MAX_DELAY_MS = 30_000


class App(BaseHTTPRequestHandler):
    """One request: `/`, `/health`, or 404; keep-alive as HTTP/1.1 does by default."""

    protocol_version = "HTTP/1.1"
    server_version = "flexchaos-reference-app"

    def _answer(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Served-By", NAME)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/":
            delay = parse_qs(url.query).get("delay_ms", ["0"])[0]
            delay_ms = min(int(delay), MAX_DELAY_MS) if delay.isdigit() else 0
            if delay_ms:
                time.sleep(delay_ms / 1000)  # the slow request a latency test asks for
            self._answer(200, f"served by {NAME}\n")
        elif url.path == "/health":
            unhealthy = os.path.exists(UNHEALTHY_FILE)
            self._answer(503 if unhealthy else 200, "unhealthy\n" if unhealthy else "healthy\n")
        else:
            self._answer(404, "not found\n")

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the journal would fill with every load-test request."""


def main(argv: list[str]) -> None:
    port = int(argv[1]) if len(argv) > 1 else 80
    address = argv[2] if len(argv) > 2 else "0.0.0.0"
    server = ThreadingHTTPServer((address, port), App)
    print(f"flexchaos reference app on {address}:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
