"""A tiny real HTTP server on a free loopback port: answers JSON, counts connections.

For wiring tests that need a server but not LangGraph (the live tests use ``langgraph dev``),
and as the "listener on the dead server's port" that proves replay never connects.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    """Answers every request with ``{"path": ..., "method": ...}``; counts connections."""

    def __init__(self, port: int = 0) -> None:
        self.connections = 0
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                outer.connections += 1
                super().setup()

            def _answer(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.requests.append(f"{self.command} {self.path}")
                payload = json.dumps(
                    {"method": self.command, "path": self.path, "body": body.decode() or None}
                ).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        socketserver.TCPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


@contextmanager
def loopback_server(port: int = 0) -> Iterator[LoopbackServer]:
    with LoopbackServer(port) as server:
        yield server
