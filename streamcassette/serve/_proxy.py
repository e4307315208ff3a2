"""The recording proxy: pass requests through to a real server, record one cassette per run.

Every request goes upstream through an :class:`AsyncRecordingTransport`, so redaction and
frame capture are those of the recorder; each chunk is sent on to the client as it arrives.
The proxy asks upstream for uncompressed bodies (``accept-encoding: identity``) so streams
are recorded as readable frames; everything else passes unchanged, secrets included (only
the cassette copy is redacted).

Grouping, one cassette per run:

* A request that starts a run (``POST`` to ``/threads/{id}/runs``, ``…/runs/stream``,
  ``…/runs/wait`` or their stateless ``/runs…`` forms) opens a new cassette as soon as its
  response headers arrive (the run id is in ``Content-Location``). It takes with it the
  requests made on its thread before the thread's first run (``POST /threads``, ``GET
  …/state``) and the requests made on no thread since the last run started (``POST
  /assistants/search``, ``GET /info``).
* A request naming a run (``/threads/{id}/runs/{run_id}…``: the SDK's ``GET`` of the run
  after a stream, a join) goes to that run's cassette.
* Any other request on a thread goes to the cassette of the thread's latest run; before the
  thread's first run it waits for that run.
* Cassettes are named ``<assistant>-<stream modes>-<n>.json`` (modes joined by ``+``, ``n``
  counting up from 1 past the files already in the folder; a name is taken by creating its
  file exclusively, so two proxies on one folder never share one) and rewritten
  (atomically) each time a request of theirs completes, then let go: the proxy holds no
  finished recording, and a late request on it loads the file back; a big one attaches
  its frames in ``<...>-<n>.sse`` beside it (see ``save``). Requests that never led to a
  run are written to ``requests-<n>.json`` when the proxy stops.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import itertools
import json
import platform
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from .._cassette import Cassette, Interaction
from .._format import dumps, load, save
from .._record import AsyncRecordingTransport, SessionClock
from .._redact import Redactor
from .._ws_record import WebSocketRecorder
from ..protocols import threads
from ..protocols.runs import (
    NOT_RUN_IDS,
    RUN_LOCATION,
    RUN_PATH,
    RUN_START_PATH,
    THREAD_PATH,
    stream_modes,
)
from ._limits import DEFAULT_MAX_BODY, BodyTooLarge, read_body, too_large

__all__ = ["RecordingProxy", "proxy_app"]

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_WS_SCHEMES = {"http": "ws", "https": "wss"}
# Connecting is bounded; a stream may stay quiet for as long as the run takes.
_UPSTREAM_TIMEOUT = {"connect": 10.0, "read": None, "write": 30.0, "pool": 30.0}


@dataclass
class _Group:
    """One run's cassette while it is being recorded."""

    path: Path
    # None once saved with nothing in flight: the file holds it, and a late request (the
    # SDK's GET of the run, a join) loads it back. The proxy keeps no finished recording.
    cassette: Cassette | None
    run_id: str | None
    thread_id: str | None
    in_flight: int = 0


@dataclass
class _Pending:
    """Completed requests waiting for the run they lead to, in completion order."""

    items: list[tuple[int, Interaction]] = field(default_factory=list)


class RecordingProxy:
    """Passes requests to ``upstream`` and writes one cassette per run into ``out_dir``."""

    def __init__(
        self,
        upstream: str,
        out_dir: Path | str,
        *,
        redact: Iterable[str] | Redactor = (),
        transport: httpx.AsyncBaseTransport | None = None,
        log: Callable[[str], None] | None = None,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.upstream = httpx.URL(upstream)
        if self.upstream.scheme not in ("http", "https") or not self.upstream.host:
            msg = f"upstream must be an http(s) URL like 'http://127.0.0.1:2024', got {upstream!r}"
            raise ValueError(msg)
        self.out_dir = Path(out_dir)
        self.redactor = Redactor.of(redact)
        self.max_body = max_body
        self.transport = transport if transport is not None else httpx.AsyncHTTPTransport()
        self.written: list[Path] = []
        self.log = log
        self._sequence = itertools.count()
        self._groups_by_run: dict[str, _Group] = {}
        self._latest_by_thread: dict[str, _Group] = {}
        self._pending_threadless = _Pending()
        self._pending_by_thread: dict[str, _Pending] = {}
        self._server_info: dict[str, Any] | None = None
        self._server_info_lock = anyio.Lock()
        # One clock for every request, so streams open at once keep their order in replay.
        self.clock = SessionClock()

    # -- the pass-through -----------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        try:
            content = await read_body(request, self.max_body)
        except BodyTooLarge:
            return too_large("streamcassette proxy", self.max_body, "--max-body-mib")
        outgoing = httpx.Request(
            request.method,
            self._upstream_url(request),
            headers=self._upstream_headers(request),
            content=content,
            extensions={"timeout": _UPSTREAM_TIMEOUT},
        )
        cassette = Cassette()
        recorder = AsyncRecordingTransport(
            cassette, self.transport, redact=self.redactor, clock=self.clock
        )
        try:
            response = await recorder.handle_async_request(outgoing)
        except httpx.HTTPError as exc:
            detail = (
                f"streamcassette proxy: the upstream request {request.method} {outgoing.url} "
                f"failed: {type(exc).__name__}: {exc}; is the server at {self.upstream} running?"
            )
            return JSONResponse({"detail": detail}, status_code=502)
        interaction = cassette.interactions[0]
        group = self._open_run(interaction, response)
        return _PassThrough(response, lambda: self._completed(interaction, group))

    async def websocket(self, websocket: WebSocket) -> None:
        """Pass a WebSocket (a v3 event stream) through to upstream, recording its messages
        both ways; filed like any request on its thread."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        cassette = Cassette()
        recorder = WebSocketRecorder(cassette, redact=self.redactor, clock=self.clock)
        url = str(self._upstream_url(websocket).copy_with(scheme=_WS_SCHEMES[self.upstream.scheme]))
        headers = [
            (key, value)
            for key, value in websocket.headers.items()
            if key.lower() not in _HOP_BY_HOP | {"host"} and not key.lower().startswith("sec-")
        ]
        try:
            async with recorder.async_connect(connect)(url, additional_headers=headers) as upstream:
                await websocket.accept()
                async with anyio.create_task_group() as group:
                    group.start_soon(_to_client, upstream, websocket, group.cancel_scope)
                    while True:
                        message = await websocket.receive()
                        if message["type"] == "websocket.disconnect":
                            break
                        data = message.get("text")
                        await upstream.send(data if data is not None else message.get("bytes"))
                    await upstream.close()
                    group.cancel_scope.cancel()
        except (InvalidStatus, OSError) as exc:
            detail = f"streamcassette proxy: upstream WebSocket {url} failed: {exc}"
            with contextlib.suppress(RuntimeError):
                await websocket.close(code=1011, reason=detail[:120])
        finally:
            with anyio.CancelScope(shield=True):
                for interaction in cassette.interactions:
                    await self._completed_websocket(interaction)

    async def _completed_websocket(self, interaction: Interaction) -> None:
        """File a closed WebSocket: one that started a run (the JS SDK sends ``run.start``
        over it) opens that run's cassette; any other is filed like a request."""
        response = interaction.response
        sent = response.websocket.messages if response and response.websocket else []
        params = threads.run_start_params(
            _json_value(message.data) for message in sent if message.sent
        )
        if params is None:
            await self._completed(interaction, None)
            return
        thread_id = threads.thread_id_of(interaction.request.path)
        stem = f"{params.get('assistant_id') or 'run'}-threads"
        await self._save(self._new_group(interaction, stem, None, thread_id, in_flight=0))

    def _upstream_url(self, request: Request | WebSocket) -> httpx.URL:
        base_path = self.upstream.raw_path.split(b"?")[0].rstrip(b"/")
        # The path as the client sent it (percent-escapes kept), not the decoded one.
        raw_path = base_path + (request.scope.get("raw_path") or request.url.path.encode("utf-8"))
        query = request.scope.get("query_string", b"")
        return self.upstream.copy_with(raw_path=raw_path + (b"?" + query if query else b""))

    def _upstream_headers(self, request: Request) -> list[tuple[bytes, bytes]]:
        headers = [
            (key, value)
            for key, value in request.headers.raw
            if key.decode("latin-1").lower() not in _HOP_BY_HOP | {"host", "content-length"}
            and key.lower() != b"accept-encoding"
        ]
        # Uncompressed, so the recorder sees SSE frames (and the cassette stays readable).
        headers.append((b"accept-encoding", b"identity"))
        return headers

    # -- grouping -------------------------------------------------------------------------

    def _open_run(self, interaction: Interaction, response: httpx.Response) -> _Group | None:
        """A new cassette when this request started a run; ``None`` otherwise."""
        request = interaction.request
        body = request.body.json_or_none() if request.body else None
        fields = body if isinstance(body, dict) else {}
        if request.method.upper() != "POST" or response.status_code >= 400:
            return None
        match = RUN_START_PATH.match(request.path)
        if match is not None:
            location = RUN_LOCATION.match(response.headers.get("content-location", ""))
            run_id = location.group(2) if location else None
            thread_id = match.group(1) or (location.group(1) if location else None)
            modes = stream_modes(fields.get("stream_mode"))
            stem = f"{fields.get('assistant_id') or 'run'}-{'+'.join(modes)}"
        elif threads.starts_run(request.method, request.path, body):
            # A v3 run: its id is only in the reply, and nothing below needs it (the
            # thread's requests follow the thread's latest run).
            run_id = None
            thread_id = threads.thread_id_of(request.path)
            params = fields.get("params") if isinstance(fields.get("params"), dict) else {}
            stem = f"{(params or {}).get('assistant_id') or 'run'}-threads"
        else:
            return None
        return self._new_group(interaction, stem, run_id, thread_id, in_flight=1)

    def _new_group(
        self,
        interaction: Interaction,
        stem: str,
        run_id: str | None,
        thread_id: str | None,
        *,
        in_flight: int,
    ) -> _Group:
        """A new run's cassette, opened by ``interaction``, taking the requests that led to it."""
        request = interaction.request
        path = self._reserve(stem)
        cassette = Cassette(provenance=self._provenance(request.header("user-agent")), path=path)
        taken = list(self._pending_threadless.items)
        self._pending_threadless.items.clear()
        if thread_id is not None and thread_id in self._pending_by_thread:
            taken += self._pending_by_thread.pop(thread_id).items
        cassette.interactions.extend(item for _, item in sorted(taken, key=lambda pair: pair[0]))
        cassette.interactions.append(interaction)
        group = _Group(path, cassette, run_id, thread_id, in_flight=in_flight)
        if run_id is not None:
            self._groups_by_run[run_id] = group
        if thread_id is not None:
            self._latest_by_thread[thread_id] = group
        return group

    async def _completed(self, interaction: Interaction, opened: _Group | None) -> None:
        """File a finished request into its run's cassette, and save that cassette."""
        hooked = self.redactor.hooked(interaction)  # the user's before_record_* hooks
        if opened is not None:
            opened.in_flight -= 1
            assert opened.cassette is not None  # kept while its run is in flight
            interactions = opened.cassette.interactions
            at = next(i for i, item in enumerate(interactions) if item is interaction)
            if hooked is None:
                del interactions[at]
            else:
                interactions[at] = hooked
            await self._save(opened)
            return
        if hooked is None:
            return
        group = self._group_for(hooked)
        if group is None:
            self._pend(hooked)
            return
        if group.cassette is None:
            group.cassette = load(group.path)
        group.cassette.interactions.append(hooked)
        await self._save(group)

    def _group_for(self, interaction: Interaction) -> _Group | None:
        request = interaction.request
        if (match := RUN_PATH.match(request.path)) and match.group(1) not in NOT_RUN_IDS:
            group = self._groups_by_run.get(match.group(1))
            if group is not None:
                return group
        thread_id = _thread_of(interaction)
        if thread_id is not None:
            return self._latest_by_thread.get(thread_id)
        return None

    def _pend(self, interaction: Interaction) -> None:
        thread_id = _thread_of(interaction)
        pending = (
            self._pending_by_thread.setdefault(thread_id, _Pending())
            if thread_id is not None
            else self._pending_threadless
        )
        pending.items.append((next(self._sequence), interaction))

    def _reserve(self, stem: str) -> Path:
        """A new cassette name, taken by creating the file (an empty cassette) exclusively:
        another proxy writing to the same folder cannot take it too."""
        slug = re.sub(r"[^A-Za-z0-9_.+-]+", "-", stem).strip("-") or "run"
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for n in itertools.count(1):
            path = self.out_dir / f"{slug}-{n}.json"
            try:
                with path.open("x", encoding="utf-8") as handle:
                    handle.write(dumps(Cassette(provenance=self._provenance(None))))
            except FileExistsError:
                continue
            return path
        raise AssertionError("unreachable")

    async def _save(self, group: _Group) -> None:
        if group.in_flight > 0 or group.cassette is None:
            return  # saved when its run's response completes
        await self._add_server_info(group.cassette)
        if group.cassette is None:
            return  # another request of this run saved it (ours in it) while /info was read
        save(group.cassette, group.path)
        group.cassette = None  # written: let it go
        if group.path not in self.written:
            self.written.append(group.path)
            if self.log is not None:
                self.log(f"recording {group.path}")

    async def flush(self) -> list[Path]:
        """Write requests that never led to a run (called when the proxy stops)."""
        leftovers = list(self._pending_threadless.items)
        for pending in self._pending_by_thread.values():
            leftovers += pending.items
        self._pending_threadless.items.clear()
        self._pending_by_thread.clear()
        if not leftovers:
            return []
        path = self._reserve("requests")
        cassette = Cassette(provenance=self._provenance(None), path=path)
        cassette.interactions.extend(item for _, item in sorted(leftovers, key=lambda p: p[0]))
        group = _Group(path, cassette, None, None)
        await self._save(group)
        return [path]

    # -- provenance -----------------------------------------------------------------------

    def _provenance(self, client: str | None) -> dict[str, Any]:
        provenance: dict[str, Any] = {
            # Milliseconds: `serve` replays a folder's cassettes in the order they were recorded.
            "recorded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "recorded_by": "streamcassette proxy",
            "streamcassette": _version("streamcassette"),
            "python": platform.python_version(),
        }
        if client:
            provenance["client"] = client
        return {key: value for key, value in provenance.items() if value is not None}

    async def _add_server_info(self, cassette: Cassette) -> None:
        if "server" in cassette.provenance:
            return
        async with self._server_info_lock:  # read once; a save meanwhile waits for it
            if self._server_info is None:
                self._server_info = await self._read_server_info()
        if self._server_info:
            cassette.provenance["server"] = dict(self._server_info)

    async def _read_server_info(self) -> dict[str, Any]:
        """What upstream's ``/info`` says of itself (its versions), or nothing."""
        url = self.upstream.copy_with(
            raw_path=self.upstream.raw_path.split(b"?")[0].rstrip(b"/") + b"/info"
        )
        request = httpx.Request("GET", url, extensions={"timeout": _UPSTREAM_TIMEOUT})
        try:
            response = await self.transport.handle_async_request(request)
            info = httpx.Response(response.status_code, stream=response.stream, request=request)
            await info.aread()
            data = info.json() if info.is_success else None
        except (httpx.HTTPError, ValueError):
            data = None
        if not isinstance(data, dict):
            return {}
        return {key: value for key, value in data.items() if isinstance(value, (str, int))}


class _PassThrough(Response):
    """Sends an upstream response on chunk by chunk, then files its recording."""

    def __init__(self, response: httpx.Response, completed: Callable[[], Awaitable[None]]) -> None:
        self.upstream = response
        self.completed = completed
        self.status_code = response.status_code
        self.background = None
        self.body = b""
        self.raw_headers = [
            (key.lower(), value)
            for key, value in response.headers.raw
            if key.decode("latin-1").lower() not in _HOP_BY_HOP
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.upstream
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        finished = False
        try:
            async with anyio.create_task_group() as group:

                async def watch_disconnect() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    group.cancel_scope.cancel()

                group.start_soon(watch_disconnect)
                assert isinstance(response.stream, httpx.AsyncByteStream)
                async for chunk in response.stream:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                finished = True
                group.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                # Closing records how the stream ended (read to the end, or the client left)
                # and releases the upstream connection, so the server sees the disconnect.
                await response.aclose()
                await self.completed()
        if finished:
            await send({"type": "http.response.body", "body": b"", "more_body": False})


def _thread_of(interaction: Interaction) -> str | None:
    request = interaction.request
    if match := THREAD_PATH.match(request.path):
        return match.group(1)
    if request.method.upper() == "POST" and request.path == "/threads":
        response = interaction.response
        created = response.body.json_or_none() if response and response.body else None
        if isinstance(created, dict) and isinstance(created.get("thread_id"), str):
            return str(created["thread_id"])
    return None


async def _to_client(upstream: Any, websocket: WebSocket, done: anyio.CancelScope) -> None:
    """Pass upstream's messages on to the client; when the server ends the connection, end
    the client's the same way."""
    from websockets.exceptions import ConnectionClosed

    # Either side may have gone: the server (ConnectionClosed) or the client
    # (WebSocketDisconnect, or RuntimeError from sending once it is closed).
    with contextlib.suppress(ConnectionClosed, WebSocketDisconnect, RuntimeError):
        async for message in upstream:
            if isinstance(message, str):
                await websocket.send_text(message)
            else:
                await websocket.send_bytes(message)
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        await websocket.close(code=upstream.close_code or 1000)
    done.cancel()


def _json_value(data: str | bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def proxy_app(
    upstream: str,
    out_dir: Path | str,
    *,
    redact: Iterable[str] | Redactor = (),
    transport: httpx.AsyncBaseTransport | None = None,
    log: Callable[[str], None] | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> Starlette:
    """An ASGI app that records every run passed through to ``upstream`` into ``out_dir``.

    ``log`` is called with a line each time a new cassette is first written; request bodies
    over ``max_body`` bytes get a 413 and are not sent on.
    """
    proxy = RecordingProxy(
        upstream, out_dir, redact=redact, transport=transport, log=log, max_body=max_body
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await proxy.flush()
        await proxy.transport.aclose()

    routes = [
        Route("/{path:path}", proxy.handle, methods=_METHODS),
        WebSocketRoute("/{path:path}", proxy.websocket),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.proxy = proxy
    return app
