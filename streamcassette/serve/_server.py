"""Run an ASGI app under uvicorn: in a background thread (tests, notebooks) or in the foreground."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

__all__ = ["BackgroundServer", "bind", "run"]

LOOPBACK = "127.0.0.1"


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free port), so the URL is known first."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _config(app: ASGIApp, sock: socket.socket, **options: Any) -> uvicorn.Config:
    host, port = sock.getsockname()[:2]
    options.setdefault("log_level", "warning")
    # WebSockets for the v3 thread protocol's event streams (with ``websockets`` installed,
    # as langgraph-sdk installs it; without it, uvicorn refuses upgrades).
    options.setdefault("ws", "auto")
    options.setdefault("lifespan", "on")
    return uvicorn.Config(app, host=host, port=port, **options)


def run(app: ASGIApp, sock: socket.socket, **options: Any) -> None:
    """Serve ``app`` on ``sock`` in this thread until interrupted (Ctrl-C: a clean exit)."""
    server = uvicorn.Server(_config(app, sock, **options))
    # uvicorn shuts down gracefully, then raises the signal again for the caller.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])


class BackgroundServer:
    """``app`` served by uvicorn on a loopback port in a daemon thread.

    Use as a context manager; ``url`` is ready on entry::

        with BackgroundServer(replay_app("cassettes/")) as server:
            client = get_client(url=server.url)
    """

    def __init__(
        self, app: ASGIApp, *, host: str = LOOPBACK, port: int = 0, **options: Any
    ) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.options = options
        self.port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            msg = "the server has not been started"
            raise RuntimeError(msg)
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        sock = bind(self.host, self.requested_port)
        self.port = sock.getsockname()[1]
        server = uvicorn.Server(_config(self.app, sock, **self.options))
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn:{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive():
                msg = f"the server on {self.url} exited while starting"
                raise RuntimeError(msg)
            if time.monotonic() > deadline:
                self.stop()
                msg = f"the server on {self.url} did not start within {timeout:g} s"
                raise RuntimeError(msg)
            time.sleep(0.01)

    def stop(self, timeout: float = 10.0) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
