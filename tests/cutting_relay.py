"""A TCP relay on a free loopback port in front of a real server, which cuts one response.

For tests of what a client does when a stream drops mid-way (a real broken connection, not
a mocked error): every connection is relayed byte for byte to the upstream port, except that
the first request matching ``cut_request`` gets only ``after_frames`` SSE frames of its
response before the relay closes both sides. ``LaggingRelay`` instead delivers that
response late: one slow connection beside fast ones.
"""

from __future__ import annotations

import queue
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress


class CuttingRelay:
    """Relays to ``127.0.0.1:upstream_port``; cuts the first matching response once."""

    def __init__(
        self, upstream_port: int, cut_request: Callable[[bytes], bool], after_frames: int
    ) -> None:
        self.upstream_port = upstream_port
        self.cut_request = cut_request
        self.after_frames = after_frames
        self.cuts = 0  # how many responses were cut (0 or 1)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._armed = True
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._closed = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._spawn(self._accept)

    def close(self) -> None:
        self._closed = True
        _close(self._listener)  # shutdown wakes the accept thread; close alone leaves it blocked
        for sock in list(self._sockets):
            _close(sock)
        for thread in self._threads:
            thread.join(timeout=5)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self._sockets += [client, upstream]
            cut = threading.Event()  # set when this connection's response is to be cut
            self._spawn(self._requests, client, upstream, cut)
            self._spawn(self._responses, upstream, client, cut)

    def _requests(
        self, client: socket.socket, upstream: socket.socket, cut: threading.Event
    ) -> None:
        seen = b""
        while data := _recv(client):
            seen += data
            with self._lock:
                if self._armed and self.cut_request(seen):
                    self._armed = False
                    cut.set()
            if not _send(upstream, data):
                break
        _close(upstream)

    def _responses(
        self, upstream: socket.socket, client: socket.socket, cut: threading.Event
    ) -> None:
        frames, in_body = 0, False
        while data := _recv(upstream):
            if cut.is_set():
                # Frames end with a blank line; count them in the body (past the headers).
                body_start = 0
                if not in_body:
                    body_start, in_body = data.index(b"\r\n\r\n") + 4, True
                for index in _blank_lines(data, body_start):
                    frames += 1
                    if frames == self.after_frames:
                        _send(client, data[:index])
                        self.cuts += 1
                        _close(client)
                        _close(upstream)
                        return
            if not _send(client, data):
                break
        _close(client)


class LaggingRelay(CuttingRelay):
    """Relays to ``127.0.0.1:upstream_port``; every byte of the response to the first
    request matching ``lag_request`` reaches the client ``lag`` seconds after the server sent
    it (in order), as over a slow connection; the other connections are not held."""

    def __init__(
        self, upstream_port: int, lag_request: Callable[[bytes], bool], lag: float
    ) -> None:
        super().__init__(upstream_port, lag_request, after_frames=0)
        self.lag = lag

    def _responses(
        self, upstream: socket.socket, client: socket.socket, cut: threading.Event
    ) -> None:
        pending: queue.Queue[tuple[float, bytes] | None] = queue.Queue()

        def deliver() -> None:
            while (item := pending.get()) is not None:
                due, data = item
                time.sleep(max(0.0, due - time.monotonic()))
                if not _send(client, data):
                    break
            _close(client)

        self._spawn(deliver)
        while data := _recv(upstream):
            # the request is matched before it is passed on, so before any of its answer
            lag = self.lag if cut.is_set() else 0.0
            pending.put((time.monotonic() + lag, data))
        pending.put(None)


FRAME_END = re.compile(rb"\r?\n\r?\n")  # a blank line, in any of SSE's line endings


def _blank_lines(data: bytes, start: int) -> Iterator[int]:
    """Where each blank line (the end of an SSE frame) in ``data`` ends."""
    for match in FRAME_END.finditer(data, start):
        yield match.end()


def _recv(sock: socket.socket) -> bytes:
    try:
        return sock.recv(65536)
    except OSError:
        return b""


def _send(sock: socket.socket, data: bytes) -> bool:
    try:
        sock.sendall(data)
    except OSError:
        return False
    return True


def _close(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()


@contextmanager
def cutting_relay(
    upstream_port: int, cut_request: Callable[[bytes], bool], after_frames: int
) -> Iterator[CuttingRelay]:
    relay = CuttingRelay(upstream_port, cut_request, after_frames)
    relay.start()
    try:
        yield relay
    finally:
        relay.close()
