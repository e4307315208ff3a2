"""Replay transports: answer requests from a cassette, streams frame by frame.

One class serves sync and async clients (as httpx's ``MockTransport`` does): matching is
the same, only the waiting differs.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from typing import Literal

import anyio
import anyio.lowlevel
import httpx

from ._bind import IdBindings, IdConflict, RequestIds
from ._cassette import (
    Cassette,
    Interaction,
    RecordedError,
    RecordedRequest,
    RecordedStream,
    StreamEnd,
)
from ._errors import UnmatchedRequestError
from ._match import DEFAULT_MATCH_ON, Matcher, differences, resolve
from ._record import snapshot_request
from ._redact import Redactor
from ._sequence import MAX_HOLD, StreamCursor, StreamSequencer
from .protocols import threads

__all__ = ["CassetteEndError", "RepeatPolicy", "ReplayTransport"]

RepeatPolicy = Literal["error", "last"]


class CassetteEndError(httpx.ReadError):
    """The client read past the point where the recording's client had stopped reading."""


class ReplayTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serves recorded interactions to httpx clients, sync or async.

    A request is answered by the first not-yet-played interaction that matches it under
    ``match_on``; each interaction plays once. When every match has been played,
    ``repeats="error"`` (the default) raises :class:`UnmatchedRequestError`, while
    ``repeats="last"`` plays the most recent match again.

    ``speed=None`` streams instantly; ``speed=1.0`` keeps the recorded gaps between
    frames; ``speed=2.0`` halves them. Streams open at once keep their recorded order across
    streams (see ``_sequence``).

    ``alias_ids=True`` (the default) binds ids the client mints to the ids the recording
    had at the same place, and serves responses with the client's ids (see ``_bind``);
    ``False`` matches ids exactly.
    """

    def __init__(
        self,
        cassette: Cassette,
        *,
        match_on: Iterable[str | Matcher] = DEFAULT_MATCH_ON,
        speed: float | None = None,
        repeats: RepeatPolicy = "error",
        redact: Iterable[str] | Redactor = (),
        alias_ids: bool = True,
    ) -> None:
        if speed is not None and speed <= 0:
            msg = f"speed must be positive (or None for instant), got {speed!r}"
            raise ValueError(msg)
        if repeats not in ("error", "last"):
            msg = f"repeats must be 'error' or 'last', got {repeats!r}"
            raise ValueError(msg)
        self.cassette = cassette
        self.matchers = resolve(match_on)
        self.speed = speed
        self.repeats = repeats
        self.redactor = Redactor.of(redact)
        self.played = [False] * len(cassette.interactions)
        self.unmatched: list[UnmatchedRequestError] = []
        self.bindings = IdBindings() if alias_ids else None
        self.sequencer = StreamSequencer()
        # v3 event streams' frame times, raised so events go in seq order across streams,
        # and their frames' seq, which says what happened before a command (its floor).
        order = threads.event_order(cassette.interactions)
        interactions = cassette.interactions
        self._session_times = {id(interactions[i]): times for i, times in order.times.items()}
        self._frame_keys = {id(interactions[i]): key for i, key in order.keys.items()}
        self.sequencer.gates.update(
            (index, interaction.started)
            for index, interaction in enumerate(interactions)
            if interaction.started is not None
            and threads.orders_events(interaction.request.method, interaction.request.path)
        )
        self.sequencer.gate_floors.update(order.floors)
        self._recorded_ids: dict[int, RequestIds] = {}
        self._lock = threading.Lock()

    def unplayed(self) -> list[tuple[int, Interaction]]:
        """The interactions no request has asked for (yet). Requests the recording's client
        gave up before their response are left out: whether a replay sends them again is
        a matter of timing, not of behaviour."""
        return [
            (index, interaction)
            for index, interaction in enumerate(self.cassette.interactions)
            if not self.played[index] and not _abandoned(interaction)
        ]

    # -- matching -------------------------------------------------------------------

    def _recorded_request_ids(self, index: int) -> RequestIds:
        ids = self._recorded_ids.get(index)
        if ids is None:
            ids = self._recorded_ids[index] = RequestIds(self.cassette.interactions[index].request)
        return ids

    def _as_recorded(
        self, live: RecordedRequest, live_ids: RequestIds | None, index: int
    ) -> tuple[RecordedRequest, dict[str, str], list[IdConflict]]:
        """``live`` in the recording's ids, as far as the bindings allow, for interaction
        ``index``; with the bindings it would add and the ids it could not bind."""
        bindings = self.bindings
        if bindings is None or live_ids is None:
            return live, {}, []
        new, conflicts = bindings.propose(live_ids, self._recorded_request_ids(index))
        return bindings.translate(live, new), new, conflicts

    def _select(self, request: httpx.Request) -> Interaction:
        live = self.redactor.matchable(snapshot_request(request, self.redactor))
        live_ids = RequestIds(live) if self.bindings is not None else None
        if not live_ids:
            live_ids = None  # no id to bind or translate: exact matching is the same
        interactions = self.cassette.interactions
        with self._lock:
            last_played: int | None = None
            for index, interaction in enumerate(interactions):
                candidate, new, _conflicts = self._as_recorded(live, live_ids, index)
                if differences(candidate, interaction.request, self.matchers):
                    continue
                if not self.played[index]:
                    self.played[index] = True
                    self.sequencer.passed(index)
                    if self.bindings is not None:
                        self.bindings.commit(new)
                    return interaction
                last_played = index
            if last_played is not None and self.repeats == "last":
                return interactions[last_played]
            message = self._explain(live, live_ids, repeated=last_played)
        error = UnmatchedRequestError(message, request=request)
        self.unmatched.append(error)
        raise error

    def _explain(
        self, live: RecordedRequest, live_ids: RequestIds | None, *, repeated: int | None
    ) -> str:
        total = len(self.cassette.interactions)
        lines = [
            f"no recorded interaction matches {live.describe()}",
            f"  cassette: {self.cassette.name} ({sum(self.played)} of {total} interactions "
            f"played; matching on {', '.join(name for name, _ in self.matchers)})",
        ]
        if live.body is not None:
            lines.append(f"  request body: {_clip(live.body.content)}")
        if repeated is not None:
            lines.append(
                f"  interaction #{repeated} matched but was already played, and repeats="
                f"{self.repeats!r}; pass repeats='last' to play it again"
            )
        ranked: list[tuple[int, int, list[str], list[IdConflict]]] = []
        for index, interaction in enumerate(self.cassette.interactions):
            candidate, _new, conflicts = self._as_recorded(live, live_ids, index)
            found = differences(candidate, interaction.request, self.matchers)
            if found:
                ranked.append((len(found), index, found, conflicts))
        ranked = sorted(ranked, key=lambda item: (item[0], item[1]))[:3]
        if ranked:
            lines.append("  closest recorded requests:")
            for _count, index, found, conflicts in ranked:
                recorded = self.cassette.interactions[index].request
                state = "played" if self.played[index] else "not played"
                lines.append(f"    #{index} {recorded.describe()} ({state}): {'; '.join(found)}")
                lines.extend(f"      {conflict.describe()}" for conflict in conflicts)
        elif total == 0:
            lines.append("  the cassette has no interactions")
        lines.append(
            "  to fix: re-record the cassette (e.g. `pytest --record-streams` or "
            "`streamcassette record`), or loosen `match_on`"
        )
        if self.bindings is not None and self.bindings.to_recorded:
            bound = ", ".join(
                f"{live_id} -> {recorded_id}"
                for live_id, recorded_id in list(self.bindings.to_recorded.items())[:4]
                if live_id != recorded_id
            )
            if bound:
                lines.append(f"  ids bound so far (live -> recorded): {bound}")
        return "\n".join(lines)

    # -- responses ------------------------------------------------------------------

    def _respond(self, request: httpx.Request, interaction: Interaction) -> httpx.Response:
        response = interaction.response
        if response is None:
            if _abandoned(interaction):
                msg = (
                    f"{request.method} {request.url.path}: the recording in "
                    f"{self.cassette.name} has no response for it, because its client gave "
                    "the request up before the answer came; this one did not"
                )
                raise CassetteEndError(msg, request=request)
            raise _rebuild_error(interaction.error, request, self.cassette.name)
        # Decided when the response starts: ids are bound by the requests before it.
        bindings = self.bindings if self.bindings is not None and self.bindings.rewrites else None
        headers = response.headers
        if bindings is not None:
            headers = [(key, bindings.to_live_text(value)) for key, value in headers]
        stream: httpx.SyncByteStream | httpx.AsyncByteStream
        if response.stream is not None:
            cursor = None
            if interaction.started is not None:
                cursor = self.sequencer.cursor(
                    self._frame_times(interaction, response.stream),
                    len(response.stream.frames),
                    self.frame_keys(interaction),
                )
            stream = _ReplayStream(
                response.stream,
                request,
                self.speed,
                self.cassette.name,
                bindings=bindings,
                cursor=cursor,
            )
        else:
            content = response.body.content if response.body else b""
            if bindings is not None:
                content = bindings.to_live_bytes(content)
                length = str(len(content))  # ids of another length change it
                headers = [
                    (key, length if key.lower() == "content-length" else value)
                    for key, value in headers
                ]
            stream = httpx.ByteStream(content)
        return httpx.Response(
            status_code=response.status,
            headers=headers,
            stream=stream,
            request=request,
        )

    def session_times(self, interaction: Interaction) -> list[float] | None:
        """A v3 event stream's frame times on the session clock, in seq order across the
        thread's streams (see ``protocols.threads.event_order``); None otherwise."""
        return self._session_times.get(id(interaction))

    def frame_keys(self, interaction: Interaction) -> Callable[[int], int | None] | None:
        """A v3 event stream's reader of a frame's ``seq``; None for other streams."""
        return self._frame_keys.get(id(interaction))

    def _frame_times(
        self, interaction: Interaction, stream: RecordedStream
    ) -> Callable[[], Sequence[float]]:
        """How to get a stream's frame times on the session clock, built only if another
        stream or a gate makes them matter (see ``_sequence``)."""
        times = self.session_times(interaction)
        if times is not None:
            return lambda: times
        started = interaction.started or 0.0
        return lambda: [started + at for at in stream.frame_times()]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self._respond(request, self._select(request))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        # A request over the network always lets other tasks run before its answer; so does
        # replay. The v3 SDK relies on it: projections subscribed just before ``run.start``
        # register before its reply, and share one stream filtered for all of them.
        await anyio.lowlevel.checkpoint()
        interaction = self._select(request)
        if _abandoned(interaction):
            # Live, the client cancelled this request before its answer: it waits (as the
            # server kept it waiting) until the client cancels it again, within MAX_HOLD.
            await anyio.sleep(MAX_HOLD)
        return self._respond(request, interaction)


class _ReplayStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Yields a recorded stream frame by frame, then ends it the way the recording ended.

    Frames carry the client's ids where ids are bound (``bindings``); with a ``cursor`` the
    stream keeps its place on the session clock, so streams open at once stay in order: it
    notes each frame's index, and looks at the clock only at the frames the cursor asks
    for (``check_at``, see ``_sequence``).
    """

    def __init__(
        self,
        stream: RecordedStream,
        request: httpx.Request,
        speed: float | None,
        source: str,
        *,
        bindings: IdBindings | None = None,
        cursor: StreamCursor | None = None,
    ) -> None:
        self._stream = stream
        self._request = request
        self._speed = speed
        self._source = source
        self._bindings = bindings
        self._cursor = cursor
        # A v3 ``stream/events`` stream the recording's client closed never ends by itself:
        # after its last frame it stays open until this client closes it too.
        self._held = stream.end is StreamEnd.CLIENT_STOPPED and threads.stays_open(
            request.method, request.url.path
        )
        self._closed = threading.Event()
        self._aclosed: anyio.Event | None = None

    def __iter__(self) -> Iterator[bytes]:
        speed, bindings, cursor = self._speed, self._bindings, self._cursor
        stream = self._stream
        try:
            if cursor is not None:
                cursor.start_reading()
            if speed is None and cursor is None and bindings is None:
                yield from stream.raws()  # the hot path: nothing to wait for or rewrite
            elif speed is None and cursor is not None:
                live = bindings.to_live_bytes if bindings is not None else None
                buffer, bounds = stream.cut()
                for position, end in enumerate(itertools.islice(bounds, 1, None)):
                    cursor.position = position
                    if position >= cursor.check_at:  # another stream or a gate may hold it
                        cursor.wait_sync()
                    raw = buffer[bounds[position] : end]
                    yield raw if live is None else live(raw)
            else:
                start = time.perf_counter()
                for position, (at, raw) in enumerate(stream.frames):
                    if speed is not None:
                        delay = start + at / speed - time.perf_counter()
                        if delay > 0:
                            time.sleep(delay)
                    if cursor is not None:
                        cursor.position = position
                        if position >= cursor.check_at:
                            cursor.wait_sync()
                    yield raw if bindings is None else bindings.to_live_bytes(raw)
            if stream.tail:
                yield stream.tail
        finally:
            if cursor is not None:
                cursor.close()
        if self._held:
            self._closed.wait()
            return
        self._raise_end()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        speed, bindings, cursor = self._speed, self._bindings, self._cursor
        stream = self._stream
        try:
            if cursor is not None:
                cursor.start_reading()
            if speed is None and cursor is None and bindings is None:
                for raw in stream.raws():  # the hot path
                    yield raw
            elif speed is None and cursor is not None:
                live = bindings.to_live_bytes if bindings is not None else None
                buffer, bounds = stream.cut()
                for position, end in enumerate(itertools.islice(bounds, 1, None)):
                    cursor.position = position
                    if position >= cursor.check_at:  # another stream or a gate may hold it
                        await cursor.wait_async()
                    raw = buffer[bounds[position] : end]
                    yield raw if live is None else live(raw)
            else:
                start = time.perf_counter()
                for position, (at, raw) in enumerate(stream.frames):
                    if speed is not None:
                        delay = start + at / speed - time.perf_counter()
                        if delay > 0:
                            await anyio.sleep(delay)
                    if cursor is not None:
                        cursor.position = position
                        if position >= cursor.check_at:
                            await cursor.wait_async()
                    yield raw if bindings is None else bindings.to_live_bytes(raw)
            if stream.tail:
                yield stream.tail
        finally:
            if cursor is not None:
                cursor.close()
        if self._held:
            self._aclosed = anyio.Event()
            if not self._closed.is_set():
                await self._aclosed.wait()
            return
        self._raise_end()

    def close(self) -> None:
        self._closed.set()
        if self._cursor is not None:
            self._cursor.close()

    async def aclose(self) -> None:
        self._closed.set()
        if self._aclosed is not None:
            self._aclosed.set()
        if self._cursor is not None:
            self._cursor.close()

    def _raise_end(self) -> None:
        stream = self._stream
        if stream.end is StreamEnd.DROPPED:
            raise _rebuild_error(stream.error, self._request, self._source)
        if stream.end is StreamEnd.CLIENT_STOPPED:
            msg = (
                f"the recording in {self._source} ends after {len(stream.frames)} frames "
                "because its client stopped reading there; re-record to replay further"
            )
            raise CassetteEndError(msg, request=self._request)


def _abandoned(interaction: Interaction) -> bool:
    """Whether the recording's client gave this request up before its response came."""
    return interaction.error is not None and interaction.error.by_client


def _rebuild_error(
    error: RecordedError | None, request: httpx.Request, source: str
) -> httpx.TransportError:
    """The httpx error the recording saw, of the same class where httpx has one."""
    kind: type[httpx.TransportError] = httpx.ReadError
    message = "connection dropped"
    if error is not None:
        candidate = getattr(httpx, error.type, None)
        if isinstance(candidate, type) and issubclass(candidate, httpx.TransportError):
            kind = candidate
        message = error.message or message
    return kind(f"{message} (replayed from {source})", request=request)


def _clip(content: bytes) -> str:
    text = content.decode("utf-8", "replace")
    return text if len(text) <= 200 else text[:197] + "..."
