"""Recording transports: wrap a real httpx transport and tee every interaction into a cassette.

Chunks go on to the caller as they arrive: the tee splits them into frames and stamps
their arrival time on the way through, it never buffers a stream (vcrpy's httpx stub
joins the whole body before the caller sees the first byte).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator

import httpx

from ._cassette import (
    Body,
    Cassette,
    Interaction,
    RecordedError,
    RecordedFrame,
    RecordedRequest,
    RecordedResponse,
    RecordedStream,
    StreamEnd,
)
from ._redact import Redactor
from ._sse import FrameDecoder

__all__ = [
    "AsyncRecordingTransport",
    "Recorder",
    "RecordingTransport",
    "SessionClock",
    "is_event_stream",
    "snapshot_request",
]


class SessionClock:
    """One clock for every interaction of a recording session: zero at its first request.

    Interactions' ``started`` times on it keep the order of streams that were open at once.
    """

    __slots__ = ("zero",)

    def __init__(self) -> None:
        self.zero: float | None = None

    def at(self, moment: float) -> float:
        """``moment`` (a ``time.perf_counter()`` reading) in seconds on this clock."""
        if self.zero is None:
            self.zero = moment
        return max(0.0, moment - self.zero)

    def start(self) -> None:
        """Mark a request's sending: the clock starts at the session's first one."""
        if self.zero is None:
            self.zero = time.perf_counter()


def is_event_stream(headers: httpx.Headers) -> bool:
    content_type: str = headers.get("content-type", "")
    return content_type.partition(";")[0].strip() == "text/event-stream"


def snapshot_request(request: httpx.Request, redactor: Redactor) -> RecordedRequest:
    """The recorded (redacted) form of a request whose body has been read."""
    content = request.content
    url = request.url
    return RecordedRequest(
        method=request.method,
        path=url.path,
        query=redactor.query(url.params.multi_items()) if url.query else [],  # parsing costs
        headers=redactor.headers(request.headers.multi_items()),
        body=Body(redactor.body(content)) if content else None,
    )


class _Capture:
    """Fills one interaction's response while its body streams through."""

    def __init__(
        self,
        interaction: Interaction,
        response: httpx.Response,
        redactor: Redactor,
        clock: SessionClock,
    ) -> None:
        self.interaction = interaction
        self.started = time.perf_counter()
        interaction.started = clock.at(self.started)
        self.finished = False
        self.sse = is_event_stream(response.headers)
        self.decoder = FrameDecoder() if self.sse else None
        self.chunks: list[bytes] = []
        self.frames: list[RecordedFrame] = []  # what chunk() fills: the stream's frames
        self.redact_frame = redactor.frame
        self.redact_body = redactor.body
        stream = RecordedStream(frames=self.frames) if self.sse else None
        self.recorded = RecordedResponse(
            status=response.status_code,
            headers=redactor.headers(response.headers.multi_items()),
            stream=stream,
        )
        interaction.response = self.recorded

    def chunk(self, chunk: bytes) -> None:
        # Runs once per chunk of every recorded stream, before the chunk goes on.
        if self.decoder is None:
            self.chunks.append(chunk)
            return
        frames = self.decoder.feed(chunk)
        if frames:
            # The frames one chunk completed arrived together, so they share its time.
            at = time.perf_counter() - self.started
            append, redact = self.frames.append, self.redact_frame
            for raw in frames:
                append(RecordedFrame(at, redact(raw)))

    def finish(self, end: StreamEnd, error: BaseException | None = None) -> None:
        if self.finished:
            return
        self.finished = True
        elapsed = time.perf_counter() - self.started
        stream = self.recorded.stream
        if stream is None:
            self.recorded.body = Body(self.redact_body(b"".join(self.chunks)))
            return
        assert self.decoder is not None
        frames, stream.tail = self.decoder.flush()
        self.frames.extend(RecordedFrame(elapsed, self.redact_frame(raw)) for raw in frames)
        stream.end = end
        stream.duration = elapsed
        if error is not None:
            stream.error = RecordedError(type(error).__name__, str(error))


class _RecordingStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Passes the inner stream's chunks through unchanged while capturing them."""

    def __init__(
        self, inner: httpx.SyncByteStream | httpx.AsyncByteStream, capture: _Capture
    ) -> None:
        self._inner = inner
        self._capture = capture

    def __iter__(self) -> Iterator[bytes]:
        assert isinstance(self._inner, httpx.SyncByteStream)
        capture = self._capture
        try:
            for chunk in self._inner:
                capture.chunk(chunk)
                yield chunk
        except GeneratorExit:
            raise
        except Exception as exc:
            capture.finish(StreamEnd.DROPPED, exc)
            raise
        capture.finish(StreamEnd.CLOSED)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        assert isinstance(self._inner, httpx.AsyncByteStream)
        capture = self._capture
        try:
            async for chunk in self._inner:
                capture.chunk(chunk)
                yield chunk
        except GeneratorExit:
            raise
        except Exception as exc:
            capture.finish(StreamEnd.DROPPED, exc)
            raise
        capture.finish(StreamEnd.CLOSED)

    def close(self) -> None:
        if not self._capture.finished and not self._capture.sse:
            # A plain body the client did not read to the end: finish reading it so the
            # cassette holds all of it, since replay must serve the whole body.
            assert isinstance(self._inner, httpx.SyncByteStream)
            for chunk in self._inner:
                self._capture.chunk(chunk)
        self._capture.finish(StreamEnd.CLIENT_STOPPED)
        assert isinstance(self._inner, httpx.SyncByteStream)
        self._inner.close()

    async def aclose(self) -> None:
        if not self._capture.finished and not self._capture.sse:
            assert isinstance(self._inner, httpx.AsyncByteStream)
            async for chunk in self._inner:
                self._capture.chunk(chunk)
        self._capture.finish(StreamEnd.CLIENT_STOPPED)
        assert isinstance(self._inner, httpx.AsyncByteStream)
        await self._inner.aclose()


def _byte_stream(response: httpx.Response) -> httpx.SyncByteStream | httpx.AsyncByteStream:
    stream = response.stream
    assert isinstance(stream, (httpx.SyncByteStream, httpx.AsyncByteStream))
    return stream


class Recorder:
    """Records interactions into a cassette, sending each request with a given ``send``."""

    def __init__(
        self,
        cassette: Cassette,
        redact: Iterable[str] | Redactor = (),
        clock: SessionClock | None = None,
    ) -> None:
        self.cassette = cassette
        self.redactor = Redactor.of(redact)
        self.clock = clock if clock is not None else SessionClock()

    def _begin(self, request: httpx.Request) -> Interaction:
        self.clock.start()
        interaction = Interaction(request=snapshot_request(request, self.redactor))
        self.cassette.interactions.append(interaction)
        return interaction

    def _failed(self, interaction: Interaction, exc: Exception) -> None:
        interaction.started = self.clock.at(time.perf_counter())
        interaction.error = RecordedError(type(exc).__name__, str(exc))

    def record_sync(
        self, request: httpx.Request, send: Callable[[httpx.Request], httpx.Response]
    ) -> httpx.Response:
        """Send ``request`` with ``send`` and record the interaction on the way through."""
        request.read()
        interaction = self._begin(request)
        try:
            response = send(request)
        except Exception as exc:
            self._failed(interaction, exc)
            raise
        return self._wrap(interaction, response)

    async def record_async(
        self,
        request: httpx.Request,
        send: Callable[[httpx.Request], Awaitable[httpx.Response]],
    ) -> httpx.Response:
        """The async twin of :meth:`record_sync`."""
        await request.aread()
        interaction = self._begin(request)
        try:
            response = await send(request)
        except Exception as exc:
            self._failed(interaction, exc)
            raise
        return self._wrap(interaction, response)

    def _wrap(self, interaction: Interaction, response: httpx.Response) -> httpx.Response:
        capture = _Capture(interaction, response, self.redactor, self.clock)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_RecordingStream(_byte_stream(response), capture),
            extensions=response.extensions,
        )


class RecordingTransport(Recorder, httpx.BaseTransport):
    """A sync transport that records every interaction through ``transport`` into ``cassette``."""

    def __init__(
        self,
        cassette: Cassette,
        transport: httpx.BaseTransport | None = None,
        *,
        redact: Iterable[str] | Redactor = (),
        clock: SessionClock | None = None,
    ) -> None:
        super().__init__(cassette, redact, clock)
        self.transport = transport if transport is not None else httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.record_sync(request, self.transport.handle_request)

    def close(self) -> None:
        self.transport.close()


class AsyncRecordingTransport(Recorder, httpx.AsyncBaseTransport):
    """The async twin of :class:`RecordingTransport`."""

    def __init__(
        self,
        cassette: Cassette,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        redact: Iterable[str] | Redactor = (),
        clock: SessionClock | None = None,
    ) -> None:
        super().__init__(cassette, redact, clock)
        self.transport = transport if transport is not None else httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.record_async(request, self.transport.handle_async_request)

    async def aclose(self) -> None:
        await self.transport.aclose()
