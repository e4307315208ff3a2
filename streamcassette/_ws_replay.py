"""WebSocket connections replayed at the SDK's ``connect`` seam (see ``_websocket``).

A replayed connection is chosen when the client sends its first message (the
``subscription.subscribe`` command), because a session opens several connections to the
same path that differ only in what they subscribe to; its path is matched with the session's
id bindings, so a thread id the client minted reads as the recorded one. Server messages
recorded after a client message wait until the client has sent that many, and keep their
place on the session clock among the other open streams. After the last recorded one the
connection ends as it ended when recorded: a connection the client closed stays open until
the client closes it again. No socket is opened.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, NoReturn

import anyio

from ._bind import RequestIds
from ._cassette import (
    Interaction,
    RecordedMessage,
    RecordedRequest,
    RecordedWebSocket,
    StreamEnd,
)
from ._errors import UnmatchedWebSocketError
from ._match import json_difference
from ._sequence import StreamCursor
from ._ws_record import handshake_request

if TYPE_CHECKING:
    from ._replay import ReplayTransport

__all__ = ["WebSocketReplayer"]


class _Script:
    """What a replayed connection does next, given how many messages the client sent."""

    def __init__(self, websocket: RecordedWebSocket) -> None:
        self.websocket = websocket
        self.position = 0  # the next recorded message
        self.sent_before = 0  # client messages among the recorded ones before ``position``
        self.sent = 0  # messages the client has sent on the replayed connection
        self.received = 0  # recorded server messages served so far
        self.client_closed = False

    def expected_sends(self) -> int:
        """How many client messages the recording has up to the next server message."""
        messages = self.websocket.messages
        count, index = self.sent_before, self.position
        while index < len(messages) and messages[index].sent:
            count += 1
            index += 1
        return count

    def next_received(self) -> RecordedMessage | None:
        """The next server message if the client has caught up with the recording; None at
        the end of the recording."""
        messages = self.websocket.messages
        while self.position < len(messages) and messages[self.position].sent:
            self.position += 1
            self.sent_before += 1
        if self.position == len(messages):
            return None
        message = messages[self.position]
        self.position += 1
        self.received += 1
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
        self.request = handshake_request(url, headers or (), replayer.redactor)
        self.script: _Script | None = None
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
            started = interaction.started or 0.0
            transport = self.replayer.transport
            times = transport.session_times(interaction)
            count = sum(1 for _ in websocket.received())

            def received_times() -> list[float]:
                if times is not None:  # in seq order across the thread's streams
                    return times
                return [started + received.at for received in websocket.received()]

            self.cursor = transport.sequencer.cursor(
                received_times, count, transport.frame_keys(interaction)
            )
        self.script.sent += 1

    def delay(self, message: RecordedMessage) -> float:
        speed = self.replayer.transport.speed
        if speed is None:
            return 0.0
        return self.opened + message.at / speed - time.perf_counter()

    def must_look(self) -> StreamCursor | None:
        """The cursor, if the message just taken must look at the session clock before it
        goes (see ``_sequence``)."""
        cursor = self.cursor
        if cursor is None:
            return None
        assert self.script is not None
        cursor.position = self.script.received - 1
        return cursor if cursor.position >= cursor.check_at else None

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

    def take(self) -> Any:
        """The next recorded server message, once the script is ready; ``None`` when the
        recording's client closed the connection there (the reader holds it open until
        this client closes it too); raises what the connection ends with otherwise."""
        script = self.script
        assert script is not None
        if script.client_closed:
            raise _client_closed(self.close_code or 1000, self.close_reason or "")
        message = script.next_received()
        if message is None:
            self.finished()
            if script.websocket.end is not StreamEnd.CLIENT_STOPPED:
                raise self.end_error()
        return message

    def raise_closed(self) -> NoReturn:
        """After the hold: the close this client made."""
        assert self.close_code is not None
        raise _client_closed(self.close_code, self.close_reason or "")

    def end_error(self) -> Exception:
        """What reading raises after the recording's last server message."""
        assert self.script is not None
        websocket = self.script.websocket
        if self.close_code is None:
            self.close_code = websocket.close_code
            self.close_reason = websocket.close_reason
        return _closed_error(websocket)


class _ReplayWebSocket:
    """What both replayed connections show of their close."""

    _connection: _ReplayedConnection

    @property
    def close_code(self) -> int | None:
        return self._connection.close_code

    @property
    def close_reason(self) -> str | None:
        return self._connection.close_reason


class _AsyncReplayWebSocket(_ReplayWebSocket):
    """A replayed ``websockets.asyncio`` connection: ``send``, ``recv``, ``async for``,
    ``close``."""

    def __init__(self, connection: _ReplayedConnection) -> None:
        self._connection = connection
        self._changed = anyio.Event()

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
        message = connection.take()
        if message is None:  # the recording's client closed it: held open until this one does
            while connection.close_code is None:
                await self._changed.wait()
            connection.raise_closed()
        delay = connection.delay(message)
        if delay > 0:
            await anyio.sleep(delay)
        cursor = connection.must_look()
        if cursor is not None:
            await cursor.wait_async()
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


class _SyncReplayWebSocket(_ReplayWebSocket):
    """A replayed ``websockets.sync`` connection; ``close`` may come from another thread."""

    def __init__(self, connection: _ReplayedConnection) -> None:
        self._connection = connection
        self._changed = threading.Condition()

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
            message = connection.take()
            if message is None:  # held open until this client closes it too
                while connection.close_code is None:
                    self._changed.wait()
                connection.raise_closed()
        delay = connection.delay(message)
        if delay > 0:
            time.sleep(delay)
        cursor = connection.must_look()
        if cursor is not None:
            cursor.wait_sync()
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
