"""Interception at httpx's transport layer, and the network seal of replay.

While a cassette session is active, httpx's own transports (``HTTPTransport.handle_request``
and ``AsyncHTTPTransport.handle_async_request``) are patched, as respx and vcrpy do: every
request any httpx client sends goes through them, whenever and however the client was built
(module-level SDK clients, custom transports wrapping httpx's, mounts). Each request is offered
to the active sessions, innermost first; the session that claims it (it is for the LangGraph
server) records or replays it. Requests no session claims go on to the network, unless a
sealed (replaying) session is active and the host is not allowed: then they fail with
:class:`BlockedRequestError`, naming the host and the setting that allows it.

The seal also covers connections made without httpx (``socket.socket.connect``), the way
pytest-recording's ``--block-network`` does, so "replay never touches the network" holds for
every library, and a test can prove it.

Everything is restored when the last session ends.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import socket
import threading
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import httpx

from ._errors import BlockedNetworkError, BlockedRequestError

__all__ = ["BYPASS", "AllowList", "Interceptor", "Route", "activate", "active", "deactivate"]

# A request extension that sends a request straight to the network (streamcassette's own
# probes, e.g. the server's /info for a recording's provenance).
BYPASS = "streamcassette.bypass"

SyncSend = Callable[[httpx.Request], httpx.Response]
AsyncSend = Callable[[httpx.Request], Awaitable[httpx.Response]]

ALLOW_HINT = (
    "allow it with allow_hosts=[...] (use_cassette / CassetteSession), the marker's "
    "allow_hosts=[...] keyword, or allow-hosts = [...] in [tool.streamcassette]"
)


class AllowList:
    """Hosts a sealed session may still reach: names, ``host:port``, globs (``*.internal``)."""

    def __init__(self, hosts: Iterable[str] = ()) -> None:
        self.patterns = tuple(host.lower() for host in hosts)
        # Connections are made to addresses: the allowed names' addresses count too.
        self.addresses: set[str] = set()
        for pattern in self.patterns:
            name = pattern.rsplit(":", 1)[0] if pattern.count(":") == 1 else pattern
            if any(char in name for char in "*?["):
                continue
            if name == "localhost":
                self.addresses.update({"127.0.0.1", "::1"})
                continue
            try:
                ipaddress.ip_address(name.strip("[]"))
            except ValueError:
                try:
                    infos = socket.getaddrinfo(name, None)
                except OSError:
                    continue
                self.addresses.update(str(info[4][0]) for info in infos)
            else:
                self.addresses.add(name.strip("[]"))

    def allows(self, host: str, port: int | None) -> bool:
        host = host.lower().strip("[]")
        for pattern in self.patterns:
            if pattern == "*" or fnmatch.fnmatchcase(host, pattern):
                return True
            if port is not None and fnmatch.fnmatchcase(f"{host}:{port}", pattern):
                return True
        return host in self.addresses

    def __bool__(self) -> bool:
        return bool(self.patterns)


class Route(Protocol):
    """What a cassette session offers the interceptor."""

    sealed: bool
    allow: AllowList

    def claims(self, request: httpx.Request) -> bool: ...

    def handle_sync(self, request: httpx.Request, send: SyncSend) -> httpx.Response: ...

    async def handle_async(self, request: httpx.Request, send: AsyncSend) -> httpx.Response: ...

    def blocked(self, error: Exception) -> None: ...

    def reached(self, request: httpx.Request) -> None: ...


# What the patched methods were when the first session began (maybe another tool's patch,
# e.g. pytest-socket's): called through, and put back when the last session ends.
_ORIGINAL_SYNC = httpx.HTTPTransport.handle_request
_ORIGINAL_ASYNC = httpx.AsyncHTTPTransport.handle_async_request
_ORIGINAL_CONNECT = socket.socket.connect
_ORIGINAL_CONNECT_EX = socket.socket.connect_ex


class Interceptor:
    """The process-wide patch: installed with the first session, removed with the last."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self._lock = threading.Lock()

    def activate(self, route: Route) -> None:
        with self._lock:
            if route in self.routes:
                return
            self.routes.append(route)
            if len(self.routes) == 1:
                _install()

    def deactivate(self, route: Route) -> None:
        with self._lock:
            if route in self.routes:
                self.routes.remove(route)
            if not self.routes:
                _uninstall()

    def route(self, request: httpx.Request) -> Route | None:
        """The innermost session that claims ``request``; raises if a seal blocks it."""
        if request.extensions.get(BYPASS):
            return None
        routes = list(self.routes)
        for route in reversed(routes):
            if route.claims(request):
                return route
        url = request.url
        for route in routes:
            if not route.sealed:
                continue
            if route.allow.allows(url.host, url.port):
                route.reached(request)
            else:
                error = BlockedRequestError(
                    f"{request.method} {url} was blocked: this cassette is replaying, and "
                    f"replay never leaves the process. {url.host} is not the LangGraph server "
                    f"of the session; {ALLOW_HINT}",
                    request=request,
                )
                route.blocked(error)
                raise error
        return None

    def check_connect(self, address: Any) -> None:
        if not isinstance(address, tuple) or len(address) < 2:
            return  # a Unix socket or another local family
        host, port = str(address[0]), address[1]
        for route in list(self.routes):
            if route.sealed and not route.allow.allows(host, port):
                error = BlockedNetworkError(
                    f"a connection to {host}:{port} was blocked: a cassette is replaying, and "
                    f"replay never leaves the process; {ALLOW_HINT}"
                )
                route.blocked(error)
                raise error


INTERCEPTOR = Interceptor()


def activate(route: Route) -> None:
    INTERCEPTOR.activate(route)


def deactivate(route: Route) -> None:
    INTERCEPTOR.deactivate(route)


def active() -> list[Route]:
    return list(INTERCEPTOR.routes)


def send_direct(transport: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
    """Send through httpx's own transport, past any interception (a session's own sends)."""
    return _ORIGINAL_SYNC(transport, request)


async def send_direct_async(
    transport: httpx.AsyncHTTPTransport, request: httpx.Request
) -> httpx.Response:
    return await _ORIGINAL_ASYNC(transport, request)


def _handle_request(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
    route = INTERCEPTOR.route(request)
    if route is None:
        return _ORIGINAL_SYNC(self, request)
    return route.handle_sync(request, lambda sent: _ORIGINAL_SYNC(self, sent))


async def _handle_async_request(
    self: httpx.AsyncHTTPTransport, request: httpx.Request
) -> httpx.Response:
    route = INTERCEPTOR.route(request)
    if route is None:
        return await _ORIGINAL_ASYNC(self, request)
    return await route.handle_async(request, lambda sent: _ORIGINAL_ASYNC(self, sent))


def _connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        INTERCEPTOR.check_connect(address)
    _ORIGINAL_CONNECT(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        INTERCEPTOR.check_connect(address)
    return _ORIGINAL_CONNECT_EX(self, address)


def _install() -> None:
    global _ORIGINAL_SYNC, _ORIGINAL_ASYNC, _ORIGINAL_CONNECT, _ORIGINAL_CONNECT_EX
    _ORIGINAL_SYNC = httpx.HTTPTransport.handle_request
    _ORIGINAL_ASYNC = httpx.AsyncHTTPTransport.handle_async_request
    _ORIGINAL_CONNECT = socket.socket.connect
    _ORIGINAL_CONNECT_EX = socket.socket.connect_ex
    httpx.HTTPTransport.handle_request = _handle_request  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = _handle_async_request  # type: ignore[method-assign]
    socket.socket.connect = _connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign,assignment]


def _uninstall() -> None:
    httpx.HTTPTransport.handle_request = _ORIGINAL_SYNC  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = _ORIGINAL_ASYNC  # type: ignore[method-assign]
    socket.socket.connect = _ORIGINAL_CONNECT  # type: ignore[method-assign]
    socket.socket.connect_ex = _ORIGINAL_CONNECT_EX  # type: ignore[method-assign]
