"""A tiny HTTP server on 127.0.0.1 for tests that need a target but not the emulator.

It names itself in X-Served-By like the emulator's VM app, counts the TCP connections it
accepts, and can answer 500 or drop each connection without answering (a closed backend flow).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType


class LocalServer:
    """`mode`: "ok" (200), "error" (500), "drop" (close without an answer) or "hang" (answer
    200 once `release` is set)."""

    def __init__(self, name: str = "local-0", mode: str = "ok") -> None:
        self.name = name
        self.mode = mode
        self.connections = 0
        self.requests = 0
        self._lock = threading.Lock()
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with server._lock:
                    server.connections += 1

            def do_GET(self) -> None:
                with server._lock:
                    server.requests += 1
                if server.mode == "hang":
                    server.release.wait(10)
                if server.mode == "drop":
                    self.close_connection = True
                    return
                status = 500 if server.mode == "error" else 200
                body = f"served by {server.name}\n".encode()
                self.send_response(status)
                self.send_header("X-Served-By", server.name)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
