"""Recording transports: wrap a real httpx transport and tee every interaction into a cassette.

Chunks go on to the caller as they arrive: the tee stamps each with its arrival time on the
way through and never holds a stream back (vcrpy's httpx stub joins the whole body before the
caller sees the first byte). Splitting the chunks into frames costs more than the SDK's own
reading of them, so it waits until the frames are first read (saving, diffing, a test looking
at them): a recorded stream costs its reader two list appends per chunk.
"""

from __future__ import annotations

import threading
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    MutableSequence,
)
from typing import Any, overload

import httpx

from ._cassette import (
    CLIENT_CANCELS,
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
    """Fills one interaction's response while its body streams through.

    The reader's path only appends each chunk and its arrival time (:meth:`chunk`, inlined in
    ``_RecordingStream``); :meth:`settle` splits what has arrived into frames, exactly as if
    each chunk had been fed to the decoder as it came: frames one chunk completed share its
    time. It runs when the frames are read (:class:`_PendingFrames`), or when the stream
    ends unless the stream ends on a frame boundary (then its tail is known to be empty).
    """

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
        # Filled by the reader's path, in this order: a time, then its chunk.
        self.times: list[float] = []
        self.chunks: list[bytes] = []
        self.frames: list[RecordedFrame] = []  # what settle() fills: the stream's frames
        self.redact_frame = redactor.frame
        self.redact_body = redactor.body
        self._decoder = FrameDecoder()
        self._settled = 0  # how many chunks settle() has split
        self._flushed = False
        self._elapsed = 0.0
        self._lock = threading.Lock()  # a reader may settle while another thread streams
        self.recorded = RecordedResponse(
            status=response.status_code,
            headers=redactor.headers(response.headers.multi_items()),
            stream=RecordedStream(frames=_PendingFrames(self)) if self.sse else None,
        )
        interaction.response = self.recorded

    def chunk(self, chunk: bytes) -> None:
        self.times.append(time.perf_counter())
        self.chunks.append(chunk)

    def settle(self) -> None:
        """Split the chunks that arrived since the last call into frames (and, once the stream
        has ended, hand the stream its plain list of frames)."""
        with self._lock:
            if self._flushed:
                return
            # Whether the stream had ended, read before the count: a stream that ends after
            # it may still add chunks, which the next call splits.
            finished = self.finished
            chunks, times, started = self.chunks, self.times, self.started
            feed, append, redact = self._decoder.feed, self.frames.append, self.redact_frame
            count = len(chunks)  # its times are in already: they are appended first
            for index in range(self._settled, count):
                completed = feed(chunks[index])
                if completed:
                    at = times[index] - started
                    for raw in completed:
                        append(RecordedFrame(at, redact(raw)))
            self._settled = count
            if not finished:
                return
            stream = self.recorded.stream
            assert stream is not None
            frames, stream.tail = self._decoder.flush()
            self.frames.extend(RecordedFrame(self._elapsed, redact(raw)) for raw in frames)
            stream.frames = self.frames
            self._flushed = True
            self.chunks, self.times = [], []

    def abandon(self) -> None:
        """The client gave the request up while its plain body was still coming (a
        cancelled task closes the connection): recorded as a request without a response,
        which replay keeps unanswered until the client gives it up again."""
        self.finished = True
        self.interaction.response = None
        self.interaction.error = RecordedError(
            "CancelledError", "the client gave the request up before its response ended"
        )

    def finish(self, end: StreamEnd, error: BaseException | None = None) -> None:
        if self.finished:
            return
        elapsed = self._elapsed = time.perf_counter() - self.started
        stream = self.recorded.stream
        if stream is None:
            self.finished = True
            self.recorded.body = Body(self.redact_body(b"".join(self.chunks)))
            return
        stream.end = end
        stream.duration = elapsed
        if error is not None:
            stream.error = RecordedError(type(error).__name__, str(error))
        self.finished = True
        if not _ends_on_frame_boundary(self.chunks):
            self.settle()  # its tail (or a frame only the end completes) must be known now


def _ends_on_frame_boundary(chunks: list[bytes]) -> bool:
    """Whether the bytes end with a blank line's LF: every frame is complete, no tail."""
    end = b""
    for chunk in reversed(chunks):
        end = chunk + end
        if len(end) >= 3:
            break
    # After an LF a new line starts, so a final "\n" or "\r\n" right after one is blank.
    return end.endswith((b"\n\n", b"\n\r\n"))


class _PendingFrames(MutableSequence[RecordedFrame]):
    """A recording stream's frames, split from its chunks when first read.

    Reads and writes settle the chunks that have arrived so far, then act on the frame list;
    once the stream has ended and settled, the stream holds that list itself.
    """

    __slots__ = ("_capture",)

    def __init__(self, capture: _Capture) -> None:
        self._capture = capture

    def _frames(self) -> list[RecordedFrame]:
        capture = self._capture
        capture.settle()
        return capture.frames

    def __len__(self) -> int:
        return len(self._frames())

    @overload
    def __getitem__(self, index: int) -> RecordedFrame: ...
    @overload
    def __getitem__(self, index: slice) -> list[RecordedFrame]: ...
    def __getitem__(self, index: int | slice) -> RecordedFrame | list[RecordedFrame]:
        return self._frames()[index]

    @overload
    def __setitem__(self, index: int, value: RecordedFrame) -> None: ...
    @overload
    def __setitem__(self, index: slice, value: Iterable[RecordedFrame]) -> None: ...
    def __setitem__(self, index: Any, value: Any) -> None:
        self._frames()[index] = value

    def __delitem__(self, index: int | slice) -> None:
        del self._frames()[index]

    def insert(self, index: int, value: RecordedFrame) -> None:
        self._frames().insert(index, value)

    def __iter__(self) -> Iterator[RecordedFrame]:
        return iter(self._frames())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _PendingFrames):
            other = other._frames()
        return self._frames() == other

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        # A copy (deepcopy, pickle) is a plain list: the capture and its lock stay behind.
        return (list, (list(self._frames()),))

    def __repr__(self) -> str:
        return repr(self._frames())


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
        # capture.chunk(), inlined: this runs once per chunk of every recorded stream.
        add_time, add_chunk, now = capture.times.append, capture.chunks.append, time.perf_counter
        try:
            for chunk in self._inner:
                add_time(now())
                add_chunk(chunk)
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
        add_time, add_chunk, now = capture.times.append, capture.chunks.append, time.perf_counter
        try:
            async for chunk in self._inner:
                add_time(now())
                add_chunk(chunk)
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
            try:
                for chunk in self._inner:
                    self._capture.chunk(chunk)
            except Exception:  # the client gave the request up: its connection is gone
                self._capture.abandon()
        self._capture.finish(StreamEnd.CLIENT_STOPPED)
        assert isinstance(self._inner, httpx.SyncByteStream)
        self._inner.close()

    async def aclose(self) -> None:
        if not self._capture.finished and not self._capture.sse:
            assert isinstance(self._inner, httpx.AsyncByteStream)
            try:
                async for chunk in self._inner:
                    self._capture.chunk(chunk)
            except Exception:  # the client gave the request up (a cancelled task)
                self._capture.abandon()
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

    def _failed(self, interaction: Interaction, exc: BaseException) -> None:
        interaction.started = self.clock.at(time.perf_counter())
        kind = type(exc).__name__
        message = str(exc)
        if kind in CLIENT_CANCELS and not message:
            message = "the client gave the request up before its response came"
        interaction.error = RecordedError(kind, message)

    def record_sync(
        self, request: httpx.Request, send: Callable[[httpx.Request], httpx.Response]
    ) -> httpx.Response:
        """Send ``request`` with ``send`` and record the interaction on the way through."""
        request.read()
        interaction = self._begin(request)
        try:
            response = send(request)
        except BaseException as exc:  # Ctrl-C too: the request went out, and is recorded
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
        except BaseException as exc:  # a cancelled task too: the request went out
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
