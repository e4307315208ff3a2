"""WebSocket connections recorded at the SDK's ``connect`` seam (see ``_websocket``).

A connection is passed through unchanged while its handshake, its messages both ways (with
their time since the handshake) and its close are captured into one interaction, method
``WEBSOCKET``; secrets are redacted as in any recording (headers, query, JSON keys in
messages). Nothing below the ``websockets`` API is touched.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

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
from ._record import SessionClock
from ._redact import Redactor

__all__ = ["WEBSOCKET_METHOD", "WebSocketRecorder", "handshake_request"]

# The method a WebSocket handshake is recorded under: no plain HTTP request has it.
WEBSOCKET_METHOD = "WEBSOCKET"

# Handshake headers that are random per connection and mean nothing to a replay.
_HANDSHAKE_NOISE = frozenset({"sec-websocket-key", "sec-websocket-accept"})


def handshake_request(
    url: str,
    headers: Iterable[tuple[str, str]] | Mapping[str, str],
    redactor: Redactor,
) -> RecordedRequest:
    """The handshake as a request; ``headers`` in any shape ``websockets`` takes (pairs, a
    mapping, or its ``Headers``)."""
    parts = urlsplit(url)
    raw_items = getattr(headers, "raw_items", None)
    pairs = (
        raw_items()
        if raw_items is not None
        else (headers.items() if isinstance(headers, Mapping) else headers)
    )
    return RecordedRequest(
        method=WEBSOCKET_METHOD,
        path=parts.path or "/",
        query=redactor.query(parse_qsl(parts.query, keep_blank_values=True)),
        headers=redactor.headers(
            (key, value) for key, value in pairs if key.lower() not in _HANDSHAKE_NOISE
        ),
    )


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


class _PassThrough:
    """A ``websockets`` connection, every attribute its own except what is captured."""

    def __init__(self, inner: Any, capture: _Capture) -> None:
        self._inner = inner
        self._capture = capture

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _AsyncRecordingWebSocket(_PassThrough):
    """Passes a ``websockets`` async connection through while capturing its messages."""

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


class _SyncRecordingWebSocket(_PassThrough):
    """The sync twin of :class:`_AsyncRecordingWebSocket`."""

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
        interaction = Interaction(request=handshake_request(url, headers, self.redactor))
        self.cassette.interactions.append(interaction)
        return interaction

    def _accepted(self, interaction: Interaction, connection: Any) -> _Capture:
        response = getattr(connection, "response", None)
        request = getattr(connection, "request", None)
        if request is not None:  # the headers websockets really sent, with its own
            recorded = handshake_request(
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
