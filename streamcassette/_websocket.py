"""WebSocket connections recorded and replayed: the v3 thread protocol's ``stream/events``.

The LangGraph SDK opens its v3 event streams with the ``websockets`` library, not httpx,
through one seam: ``ProtocolWebSocketTransport(connect=...)`` (sync:
``SyncProtocolWebSocketTransport``), whose default is ``websockets``' own ``connect``.
``websocket_seam`` swaps that default while a cassette is active, for a connect that
records through the real one or one that answers from the cassette. Nothing below the
``websockets`` API is touched.

A replayed connection is chosen when the client sends its first message (the
``subscription.subscribe`` command), because a session opens several connections to the
same path that differ only in what they subscribe to. Server messages recorded after a
client message wait until the client has sent that many; after the last recorded one the
connection ends as it ended when recorded: a connection the client closed stays open
until the client closes it again.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import anyio

from ._bind import RequestIds
from ._cassette import (
    Body,
    Cassette,
    Interaction,
    RecordedError,
    RecordedMessage,
    RecordedRequest,
    RecordedResponse,
    RecordedWebSocket,
    StreamEnd,
)
from ._errors import UnmatchedWebSocketError
from ._match import json_difference
from ._record import SessionClock
from ._redact import Redactor
from ._sequence import StreamCursor

if TYPE_CHECKING:
    from ._replay import ReplayTransport
    from ._sdk import CassetteSession

__all__ = [
    "WEBSOCKET_METHOD",
    "WebSocketRecorder",
    "WebSocketReplayer",
    "how_it_closed",
    "session_websockets",
    "websocket_seam",
]

# The method a WebSocket handshake is recorded under: no plain HTTP request has it.
WEBSOCKET_METHOD = "WEBSOCKET"

# Handshake headers that are random per connection and mean nothing to a replay.
_HANDSHAKE_NOISE = frozenset({"sec-websocket-key", "sec-websocket-accept"})


def _handshake_request(
    url: str, headers: Iterable[tuple[str, str]], redactor: Redactor
) -> RecordedRequest:
    parts = urlsplit(url)
    return RecordedRequest(
        method=WEBSOCKET_METHOD,
        path=parts.path or "/",
        query=redactor.query(parse_qsl(parts.query, keep_blank_values=True)),
        headers=redactor.headers(
            (key, value) for key, value in headers if key.lower() not in _HANDSHAKE_NOISE
        ),
    )


# --- recording -----------------------------------------------------------------------


class _Capture:
    """Fills one WebSocket interaction while its connection is used."""

    def __init__(
        self, interaction: Interaction, websocket: RecordedWebSocket, redactor: Redactor
    ) -> None:
        self.interaction = interaction
        self.websocket = websocket
        self.redact = redactor.body  # secret JSON keys in a message, as in any JSON body
        self.opened = time.perf_counter()
        self.client_closed = False
        self.finished = False

    def message(self, data: str | bytes, *, sent: bool) -> None:
        at = time.perf_counter() - self.opened
        if isinstance(data, str):
            data = self.redact(data.encode("utf-8")).decode("utf-8")
        self.websocket.messages.append(RecordedMessage(at, sent, data))

    def finish(self, connection: Any, error: BaseException | None = None) -> None:
        if self.finished:
            return
        self.finished = True
        websocket = self.websocket
        websocket.duration = time.perf_counter() - self.opened
        code = getattr(connection, "close_code", None)
        websocket.close_code = code
        websocket.close_reason = getattr(connection, "close_reason", None) or ""
        if self.client_closed:
            websocket.end = StreamEnd.CLIENT_STOPPED
        elif code is None or code == 1006:
            websocket.end = StreamEnd.DROPPED
            websocket.close_code = None
            if error is not None:
                websocket.error = RecordedError(type(error).__name__, str(error))
        else:
            websocket.end = StreamEnd.CLOSED


def _is_closed(exc: BaseException) -> bool:
    from websockets.exceptions import ConnectionClosed

    return isinstance(exc, ConnectionClosed)


class _AsyncRecordingWebSocket:
    """Passes a ``websockets`` async connection through while capturing its messages."""

    def __init__(self, inner: Any, capture: _Capture) -> None:
        self._inner = inner
        self._capture = capture

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def send(self, message: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(message, (str, bytes)):
            self._capture.message(message, sent=True)
        await self._inner.send(message, *args, **kwargs)

    async def recv(self, *args: Any, **kwargs: Any) -> Any:
        try:
            message = await self._inner.recv(*args, **kwargs)
        except Exception as exc:
            if _is_closed(exc):
                self._capture.finish(self._inner, exc)
            raise
        self._capture.message(message, sent=False)
        return message

    async def __aiter__(self) -> AsyncIterator[Any]:
        from websockets.exceptions import ConnectionClosedOK

        try:
            while True:
                yield await self.recv()
        except ConnectionClosedOK:
            return

    async def close(self, *args: Any, **kwargs: Any) -> None:
        self._capture.client_closed = True
        await self._inner.close(*args, **kwargs)


class _SyncRecordingWebSocket:
    """The sync twin of :class:`_AsyncRecordingWebSocket`."""

    def __init__(self, inner: Any, capture: _Capture) -> None:
        self._inner = inner
        self._capture = capture

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def send(self, message: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(message, (str, bytes)):
            self._capture.message(message, sent=True)
        self._inner.send(message, *args, **kwargs)

    def recv(self, *args: Any, **kwargs: Any) -> Any:
        try:
            message = self._inner.recv(*args, **kwargs)
        except Exception as exc:
            if _is_closed(exc):
                self._capture.finish(self._inner, exc)
            raise
        self._capture.message(message, sent=False)
        return message

    def __iter__(self) -> Iterator[Any]:
        from websockets.exceptions import ConnectionClosedOK

        try:
            while True:
                yield self.recv()
        except ConnectionClosedOK:
            return

    def close(self, *args: Any, **kwargs: Any) -> None:
        self._capture.client_closed = True
        self._inner.close(*args, **kwargs)


class WebSocketRecorder:
    """Records the WebSocket connections opened through a real ``connect`` into a cassette.

    An interaction's ``started`` is when its handshake completed, on the session's ``clock``
    (the one its HTTP interactions use), and its messages' times count from there.
    ``redirect_to`` (an http(s) URL) sends every connection to that server instead.
    """

    def __init__(
        self,
        cassette: Cassette,
        *,
        redact: Iterable[str] | Redactor = (),
        clock: SessionClock | None = None,
        redirect_to: str | None = None,
    ) -> None:
        self.cassette = cassette
        self.redactor = Redactor.of(redact)
        self.clock = clock if clock is not None else SessionClock()
        self.redirect_to = redirect_to

    def _target(self, url: str) -> str:
        if self.redirect_to is None:
            return url
        base = urlsplit(self.redirect_to)
        scheme = "wss" if base.scheme == "https" else "ws"
        return urlunsplit(urlsplit(url)._replace(scheme=scheme, netloc=base.netloc))

    def _begin(self, url: str, headers: Iterable[tuple[str, str]]) -> Interaction:
        self.clock.start()
        interaction = Interaction(request=_handshake_request(url, headers, self.redactor))
        self.cassette.interactions.append(interaction)
        return interaction

    def _accepted(self, interaction: Interaction, connection: Any) -> _Capture:
        response = getattr(connection, "response", None)
        request = getattr(connection, "request", None)
        if request is not None:  # the headers websockets really sent, with its own
            recorded = _handshake_request(
                "ws://x" + interaction.request.path, request.headers.raw_items(), self.redactor
            )
            interaction.request.headers = recorded.headers
        websocket = RecordedWebSocket()
        capture = _Capture(interaction, websocket, self.redactor)
        interaction.started = self.clock.at(capture.opened)
        interaction.response = RecordedResponse(
            status=getattr(response, "status_code", 101),
            headers=self.redactor.headers(
                (key, value)
                for key, value in (response.headers.raw_items() if response is not None else ())
                if key.lower() not in _HANDSHAKE_NOISE
            ),
            websocket=websocket,
        )
        return capture

    def _refused(self, interaction: Interaction, exc: BaseException) -> None:
        interaction.started = self.clock.at(time.perf_counter())
        response = getattr(exc, "response", None)  # InvalidStatus: the server said no
        if response is not None and hasattr(response, "status_code"):
            interaction.response = RecordedResponse(
                status=response.status_code,
                headers=self.redactor.headers(response.headers.raw_items()),
                body=Body(bytes(response.body)) if response.body else None,
            )
        else:
            interaction.error = RecordedError(type(exc).__name__, str(exc))

    def async_connect(self, real: Callable[..., Any]) -> Callable[..., Any]:
        """A ``websockets.asyncio.client.connect`` stand-in that records through ``real``."""
        recorder = self

        @contextlib.asynccontextmanager
        async def connect(url: str, **kwargs: Any) -> AsyncIterator[Any]:
            interaction = recorder._begin(url, kwargs.get("additional_headers") or ())
            try:
                manager = real(recorder._target(url), **kwargs)
                connection = await manager.__aenter__()
            except Exception as exc:
                recorder._refused(interaction, exc)
                raise
            capture = recorder._accepted(interaction, connection)
            error: BaseException | None = None
            try:
                yield _AsyncRecordingWebSocket(connection, capture)
            except BaseException as exc:
                error = exc
                if not await manager.__aexit__(type(exc), exc, exc.__traceback__):
                    raise
            else:
                await manager.__aexit__(None, None, None)
            finally:
                capture.finish(connection, error)

        return connect

    def sync_connect(self, real: Callable[..., Any]) -> Callable[..., Any]:
        """A ``websockets.sync.client.connect`` stand-in that records through ``real``."""
        recorder = self

        @contextlib.contextmanager
        def connect(url: str, **kwargs: Any) -> Iterator[Any]:
            interaction = recorder._begin(url, kwargs.get("additional_headers") or ())
            try:
                manager = real(recorder._target(url), **kwargs)
                connection = manager.__enter__()
            except Exception as exc:
                recorder._refused(interaction, exc)
                raise
            capture = recorder._accepted(interaction, connection)
            error: BaseException | None = None
            try:
                yield _SyncRecordingWebSocket(connection, capture)
            except BaseException as exc:
                error = exc
                if not manager.__exit__(type(exc), exc, exc.__traceback__):
                    raise
            else:
                manager.__exit__(None, None, None)
            finally:
                capture.finish(connection, error)

        return connect


# --- replay --------------------------------------------------------------------------


class _Script:
    """What a replayed connection does next, given how many messages the client sent."""

    def __init__(self, websocket: RecordedWebSocket) -> None:
        self.websocket = websocket
        self.position = 0  # the next recorded message
        self.sent = 0  # messages the client has sent on the replayed connection
        self.client_closed = False

    def expected_sends(self) -> int:
        """How many client messages the recording has up to the next server message."""
        messages = self.websocket.messages
        count = 0
        for message in messages[: self.position]:
            count += message.sent
        for message in messages[self.position :]:
            if not message.sent:
                break
            count += 1
        return count

    def next_received(self) -> RecordedMessage | None:
        """The next server message if the client has caught up with the recording; None at
        the end of the recording."""
        messages = self.websocket.messages
        while self.position < len(messages) and messages[self.position].sent:
            self.position += 1
        if self.position == len(messages):
            return None
        message = messages[self.position]
        self.position += 1
        return message

    def ready(self) -> bool:
        """Whether the next server message may go: the client sent what came before it."""
        return self.client_closed or self.sent >= self.expected_sends()


def _closed_error(websocket: RecordedWebSocket) -> Exception:
    """What ``websockets`` raises once the recorded connection has ended as it ended."""
    from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK
    from websockets.frames import Close

    if websocket.end is StreamEnd.DROPPED or websocket.close_code is None:
        return ConnectionClosedError(None, None)
    close = Close(websocket.close_code, websocket.close_reason)
    if websocket.close_code in (1000, 1001):
        return ConnectionClosedOK(close, close, True)
    return ConnectionClosedError(close, close, True)


def _client_closed(code: int, reason: str) -> Exception:
    from websockets.exceptions import ConnectionClosedOK
    from websockets.frames import Close

    close = Close(code, reason)
    return ConnectionClosedOK(close, close, False)


class _ReplayedConnection:
    """One replayed WebSocket connection, sync or async alike up to the waiting.

    Received messages carry the client's ids where the session bound them, and keep their
    place on the session clock among the other open streams (``_sequence``).
    """

    def __init__(self, replayer: WebSocketReplayer, url: str, headers: Any) -> None:
        self.replayer = replayer
        self.request = _handshake_request(url, headers or (), replayer.redactor)
        self.script: _Script | None = None
        self.started = 0.0  # the recorded connection's start on the session clock
        self.cursor: StreamCursor | None = None
        self.opened = time.perf_counter()
        self.close_code: int | None = None
        self.close_reason: str | None = None

    def handshake(self) -> None:
        """Fail the connect now if its recording was refused by the server."""
        refused = self.replayer.refused(self.request)
        if refused is not None:
            raise refused

    def sent(self, message: Any) -> None:
        if self.script is None:
            interaction, websocket = self.replayer.select(self.request, message)
            self.script = _Script(websocket)
            self.started = interaction.started or 0.0
            received = next(websocket.received(), None)
            first = self.started + (received.at if received is not None else 0.0)
            self.cursor = self.replayer.transport.sequencer.cursor(first)
        self.script.sent += 1

    def delay(self, message: RecordedMessage) -> float:
        speed = self.replayer.transport.speed
        if speed is None:
            return 0.0
        return self.opened + message.at / speed - time.perf_counter()

    def ordered_at(self, message: RecordedMessage) -> float | None:
        """The session time to wait for before ``message``, when another stream is open."""
        cursor = self.cursor
        if cursor is None or not cursor.sequencer.ordering:
            return None
        cursor.next_at = self.started + message.at
        return cursor.next_at

    def live(self, message: RecordedMessage) -> str | bytes:
        """The message as this client should see it: recorded ids swapped for its own."""
        bindings = self.replayer.transport.bindings
        data = message.data
        if bindings is None or not bindings.rewrites:
            return data
        if isinstance(data, str):
            return bindings.to_live_text(data)
        return bindings.to_live_bytes(data)

    def finished(self) -> None:
        """No more messages come: other streams stop waiting for this one."""
        if self.cursor is not None:
            self.cursor.close()

    def closed_by_client(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        if self.script is not None:
            self.script.client_closed = True
        self.finished()

    def end_error(self) -> Exception:
        """What reading raises after the recording's last server message."""
        assert self.script is not None
        websocket = self.script.websocket
        if self.close_code is None:
            self.close_code = websocket.close_code
            self.close_reason = websocket.close_reason
        return _closed_error(websocket)


class _AsyncReplayWebSocket:
    """A replayed ``websockets.asyncio`` connection: ``send``, ``recv``, ``async for``,
    ``close``."""

    def __init__(self, connection: _ReplayedConnection) -> None:
        self._connection = connection
        self._changed = anyio.Event()

    @property
    def close_code(self) -> int | None:
        return self._connection.close_code

    @property
    def close_reason(self) -> str | None:
        return self._connection.close_reason

    def _wake(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def send(self, message: Any, *args: Any, **kwargs: Any) -> None:
        connection = self._connection
        if connection.close_code is not None:
            raise _client_closed(connection.close_code, connection.close_reason or "")
        connection.sent(message)
        self._wake()

    async def recv(self, *args: Any, **kwargs: Any) -> Any:
        connection = self._connection
        while connection.script is None or not connection.script.ready():
            if connection.close_code is not None:
                raise _client_closed(connection.close_code, connection.close_reason or "")
            await self._changed.wait()
        script = connection.script
        if script.client_closed:
            raise _client_closed(connection.close_code or 1000, connection.close_reason or "")
        message = script.next_received()
        if message is None:
            connection.finished()
            if script.websocket.end is StreamEnd.CLIENT_STOPPED:
                # The recording's client closed it: hold it open until this one does.
                while connection.close_code is None:
                    await self._changed.wait()
                raise _client_closed(connection.close_code, connection.close_reason or "")
            raise connection.end_error()
        delay = connection.delay(message)
        if delay > 0:
            await anyio.sleep(delay)
        at = connection.ordered_at(message)
        if at is not None:
            assert connection.cursor is not None
            await connection.cursor.wait_async(at)
        return connection.live(message)

    async def __aiter__(self) -> AsyncIterator[Any]:
        from websockets.exceptions import ConnectionClosedOK

        if self._connection.cursor is not None:
            self._connection.cursor.start_reading()
        try:
            while True:
                yield await self.recv()
        except ConnectionClosedOK:
            return

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self._connection.closed_by_client(code, reason)
        self._wake()


class _SyncReplayWebSocket:
    """A replayed ``websockets.sync`` connection; ``close`` may come from another thread."""

    def __init__(self, connection: _ReplayedConnection) -> None:
        self._connection = connection
        self._changed = threading.Condition()

    @property
    def close_code(self) -> int | None:
        return self._connection.close_code

    @property
    def close_reason(self) -> str | None:
        return self._connection.close_reason

    def send(self, message: Any, *args: Any, **kwargs: Any) -> None:
        connection = self._connection
        with self._changed:
            if connection.close_code is not None:
                raise _client_closed(connection.close_code, connection.close_reason or "")
            connection.sent(message)
            self._changed.notify_all()

    def recv(self, *args: Any, **kwargs: Any) -> Any:
        connection = self._connection
        with self._changed:
            while connection.script is None or not connection.script.ready():
                if connection.close_code is not None:
                    raise _client_closed(connection.close_code, connection.close_reason or "")
                self._changed.wait()
            script = connection.script
            if script.client_closed:
                raise _client_closed(connection.close_code or 1000, connection.close_reason or "")
            message = script.next_received()
            if message is None:
                connection.finished()
                if script.websocket.end is StreamEnd.CLIENT_STOPPED:
                    while connection.close_code is None:
                        self._changed.wait()
                    raise _client_closed(connection.close_code, connection.close_reason or "")
                raise connection.end_error()
        delay = connection.delay(message)
        if delay > 0:
            time.sleep(delay)
        at = connection.ordered_at(message)
        if at is not None:
            assert connection.cursor is not None
            connection.cursor.wait_sync(at)
        return connection.live(message)

    def __iter__(self) -> Iterator[Any]:
        from websockets.exceptions import ConnectionClosedOK

        if self._connection.cursor is not None:
            self._connection.cursor.start_reading()
        try:
            while True:
                yield self.recv()
        except ConnectionClosedOK:
            return

    def close(self, code: int = 1000, reason: str = "") -> None:
        with self._changed:
            self._connection.closed_by_client(code, reason)
            self._changed.notify_all()


class WebSocketReplayer:
    """Answers WebSocket connects from the cassette of a replay ``transport``.

    A connection is matched on its path (ids bound as the transport binds them, so a thread
    id the client minted reads as the recorded one) and query, then on its first client
    message, compared as JSON. Each recorded connection plays once and counts as played in
    the transport's ``played``, like its HTTP interactions.
    """

    def __init__(self, transport: ReplayTransport) -> None:
        self.transport = transport
        self.cassette = transport.cassette
        self.redactor = transport.redactor
        self.source = transport.cassette.name

    def _as_recorded(self, request: RecordedRequest, index: int) -> tuple[str, dict[str, str]]:
        """The live path in the recording's ids for interaction ``index``, with the new
        bindings that would take."""
        bare = RecordedRequest(request.method, request.path)  # headers name no thread
        if self.transport.bindings is None:
            return bare.path, {}
        candidate, new, _conflicts = self.transport._as_recorded(bare, RequestIds(bare), index)
        return candidate.path, new

    def _candidates(
        self, request: RecordedRequest
    ) -> list[tuple[int, Interaction, dict[str, str]]]:
        """Unplayed recorded connections to this path and query, with their bindings."""
        found = []
        played = self.transport.played
        for index, interaction in self.cassette.websockets():
            if played[index] or sorted(request.query) != sorted(interaction.request.query):
                continue
            path, new = self._as_recorded(request, index)
            if path == interaction.request.path:
                found.append((index, interaction, new))
        return found

    def _play(self, index: int, new: dict[str, str]) -> None:
        self.transport.played[index] = True
        if self.transport.bindings is not None:
            self.transport.bindings.commit(new)

    def refused(self, request: RecordedRequest) -> Exception | None:
        """The handshake error to raise if the next recording of this connect was refused."""
        with self.transport._lock:
            candidates = self._candidates(request)
            if not candidates or _accepted(candidates[0][1]):
                return None
            index, interaction, new = candidates[0]
            self._play(index, new)
        return _refusal(interaction, self.source)

    def select(self, request: RecordedRequest, first: Any) -> tuple[Interaction, RecordedWebSocket]:
        """The recorded connection whose first client message is ``first``."""
        live = _json_or_text(first)
        with self.transport._lock:
            candidates = [item for item in self._candidates(request) if _accepted(item[1])]
            for index, interaction, new in candidates:
                websocket = _websocket_of(interaction)
                sent = [message for message in websocket.messages if message.sent]
                if sent and _json_or_text(sent[0].data) == live:
                    self._play(index, new)
                    return interaction, websocket
        raise UnmatchedWebSocketError(self._explain(request, first, candidates))

    def _explain(
        self,
        request: RecordedRequest,
        first: Any,
        candidates: list[tuple[int, Interaction, dict[str, str]]],
    ) -> str:
        text = first if isinstance(first, str) else repr(first)
        lines = [
            f"no recorded WebSocket connection matches {request.path} whose first message is "
            f"{_clip(text)}",
            f"  cassette: {self.source}",
        ]
        if candidates:
            lines.append("  recorded connections to that path not played yet:")
            live = _json_or_text(first)
            for index, interaction, _new in candidates[:3]:
                sent = [m.data for m in _websocket_of(interaction).messages if m.sent]
                found = json_difference(_json_or_text(sent[0]), live) if sent else "sends nothing"
                lines.append(f"    #{index}: first message {found}")
        else:
            lines.append("  no recorded connection to that path is left to play")
        lines.append("  to fix: re-record the cassette")
        return "\n".join(lines)

    def async_connect(self, url: str, **kwargs: Any) -> Any:
        """A stand-in for ``websockets.asyncio.client.connect``."""
        replayer = self

        @contextlib.asynccontextmanager
        async def connect() -> AsyncIterator[_AsyncReplayWebSocket]:
            connection = _ReplayedConnection(replayer, url, kwargs.get("additional_headers"))
            connection.handshake()
            websocket = _AsyncReplayWebSocket(connection)
            try:
                yield websocket
            finally:
                await websocket.close()

        return connect()

    def sync_connect(self, url: str, **kwargs: Any) -> Any:
        """A stand-in for ``websockets.sync.client.connect``."""
        replayer = self

        @contextlib.contextmanager
        def connect() -> Iterator[_SyncReplayWebSocket]:
            connection = _ReplayedConnection(replayer, url, kwargs.get("additional_headers"))
            connection.handshake()
            websocket = _SyncReplayWebSocket(connection)
            try:
                yield websocket
            finally:
                websocket.close()

        return connect()


def _accepted(interaction: Interaction) -> bool:
    response = interaction.response
    return response is not None and response.websocket is not None


def _websocket_of(interaction: Interaction) -> RecordedWebSocket:
    response = interaction.response
    assert response is not None
    assert response.websocket is not None
    return response.websocket


def _refusal(interaction: Interaction, source: str) -> Exception:
    """The error the recorded handshake failed with."""
    from websockets.datastructures import Headers
    from websockets.exceptions import InvalidStatus
    from websockets.http11 import Response

    response = interaction.response
    if response is None:
        error = interaction.error
        message = error.message if error is not None else "connection failed"
        return OSError(f"{message} (replayed from {source})")
    body = response.body.content if response.body is not None else b""
    return InvalidStatus(Response(response.status, "Refused", Headers(response.headers), body))


def _json_or_text(data: Any) -> Any:
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data).decode("utf-8", "replace")
    try:
        return json.loads(data)
    except (TypeError, ValueError):
        return data


def _clip(text: str) -> str:
    return text if len(text) <= 200 else text[:197] + "..."


# --- the seam ------------------------------------------------------------------------


def _sdk_transports() -> list[tuple[type[Any], bool]]:
    """The SDK's WebSocket transport classes and whether each is async; none for an SDK
    without the v3 thread protocol."""
    found: list[tuple[type[Any], bool]] = []
    with contextlib.suppress(ImportError):
        from langgraph_sdk.stream.transport.ws import ProtocolWebSocketTransport

        found.append((ProtocolWebSocketTransport, True))
    with contextlib.suppress(ImportError):
        from langgraph_sdk.stream.transport.sync_ws import SyncProtocolWebSocketTransport

        found.append((SyncProtocolWebSocketTransport, False))
    return found


@contextlib.contextmanager
def websocket_seam(
    *,
    recorder: WebSocketRecorder | None = None,
    replayer: WebSocketReplayer | None = None,
) -> Iterator[None]:
    """Inside the block, the SDK's WebSocket transports built without a ``connect`` of
    their own record through ``recorder`` or answer from ``replayer``.

    It swaps the ``connect`` default of ``ProtocolWebSocketTransport.__init__`` (and the
    sync one), which ``AsyncThreadStream`` relies on, and restores it on exit.
    """
    patched: list[tuple[dict[str, Any], Any]] = []
    try:
        for cls, is_async in _sdk_transports():
            defaults = cls.__init__.__kwdefaults__
            if defaults is None or "connect" not in defaults:
                continue
            real = defaults["connect"]
            if replayer is not None:
                connect = replayer.async_connect if is_async else replayer.sync_connect
            elif recorder is not None:
                connect = recorder.async_connect(real) if is_async else recorder.sync_connect(real)
            else:
                continue
            patched.append((defaults, real))
            defaults["connect"] = connect
        yield
    finally:
        for defaults, real in reversed(patched):
            defaults["connect"] = real


def session_websockets(session: CassetteSession) -> contextlib.AbstractContextManager[None]:
    """``websocket_seam`` for a cassette session: its WebSocket connections are recorded
    into its cassette on its clock, or replayed from it by its replay transport."""
    if session.replayer is not None:
        return websocket_seam(replayer=WebSocketReplayer(session.replayer))
    redirect = str(session.redirect_to) if session.redirect_to is not None else None
    recorder = WebSocketRecorder(
        session.cassette, redact=session.redactor, clock=session.clock, redirect_to=redirect
    )
    return websocket_seam(recorder=recorder)


def how_it_closed(websocket: RecordedWebSocket) -> str:
    """``closed by the client (1000)``, ``closed by the server (1011)`` or ``dropped``."""
    how = {
        StreamEnd.CLIENT_STOPPED: "closed by the client",
        StreamEnd.CLOSED: "closed by the server",
        StreamEnd.DROPPED: "dropped",
    }[websocket.end]
    return how + (f" ({websocket.close_code})" if websocket.close_code is not None else "")
