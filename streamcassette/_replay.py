"""Replay transports: answer requests from a cassette, streams frame by frame.

One class serves sync and async clients (as httpx's ``MockTransport`` does): matching is
the same, only the waiting differs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Literal

import anyio
import httpx

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
    frames; ``speed=2.0`` halves them.
    """

    def __init__(
        self,
        cassette: Cassette,
        *,
        match_on: Iterable[str | Matcher] = DEFAULT_MATCH_ON,
        speed: float | None = None,
        repeats: RepeatPolicy = "error",
        redact: Iterable[str] = (),
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
        self.redactor = Redactor(redact)
        self.played = [False] * len(cassette.interactions)
        self.unmatched: list[UnmatchedRequestError] = []
        self._lock = threading.Lock()

    # -- matching -------------------------------------------------------------------

    def _select(self, request: httpx.Request) -> Interaction:
        live = snapshot_request(request, self.redactor)
        interactions = self.cassette.interactions
        with self._lock:
            last_played: int | None = None
            for index, interaction in enumerate(interactions):
                if differences(live, interaction.request, self.matchers):
                    continue
                if not self.played[index]:
                    self.played[index] = True
                    return interaction
                last_played = index
            if last_played is not None and self.repeats == "last":
                return interactions[last_played]
        error = UnmatchedRequestError(self._explain(live, repeated=last_played), request=request)
        self.unmatched.append(error)
        raise error

    def _explain(self, live: RecordedRequest, *, repeated: int | None) -> str:
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
        ranked = sorted(
            (
                (len(found), index, found)
                for index, interaction in enumerate(self.cassette.interactions)
                if (found := differences(live, interaction.request, self.matchers))
            ),
            key=lambda item: (item[0], item[1]),
        )[:3]
        if ranked:
            lines.append("  closest recorded requests:")
            for _count, index, found in ranked:
                recorded = self.cassette.interactions[index].request
                state = "played" if self.played[index] else "not played"
                lines.append(f"    #{index} {recorded.describe()} ({state}): {'; '.join(found)}")
        elif total == 0:
            lines.append("  the cassette has no interactions")
        lines.append(
            "  to fix: re-record the cassette (e.g. `pytest --record-streams` or "
            "`streamcassette record`), or loosen `match_on`"
        )
        return "\n".join(lines)

    # -- responses ------------------------------------------------------------------

    def _respond(self, request: httpx.Request, interaction: Interaction) -> httpx.Response:
        response = interaction.response
        if response is None:
            raise _rebuild_error(interaction.error, request, self.cassette.name)
        stream: httpx.SyncByteStream | httpx.AsyncByteStream
        if response.stream is not None:
            stream = _ReplayStream(response.stream, request, self.speed, self.cassette.name)
        else:
            stream = httpx.ByteStream(response.body.content if response.body else b"")
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=stream,
            request=request,
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        return self._respond(request, self._select(request))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        return self._respond(request, self._select(request))


class _ReplayStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Yields a recorded stream frame by frame, then ends it the way the recording ended."""

    def __init__(
        self, stream: RecordedStream, request: httpx.Request, speed: float | None, source: str
    ) -> None:
        self._stream = stream
        self._request = request
        self._speed = speed
        self._source = source
        # A v3 ``stream/events`` stream the recording's client closed never ends by itself:
        # after its last frame it stays open until this client closes it too.
        self._held = stream.end is StreamEnd.CLIENT_STOPPED and threads.stays_open(
            request.method, request.url.path
        )
        self._closed = threading.Event()
        self._aclosed: anyio.Event | None = None

    def __iter__(self) -> Iterator[bytes]:
        speed = self._speed
        if speed is None:
            for raw in self._stream.raws():
                yield raw
        else:
            start = time.perf_counter()
            for at, raw in self._stream.frames:
                delay = start + at / speed - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                yield raw
        if self._stream.tail:
            yield self._stream.tail
        if self._held:
            self._closed.wait()
            return
        self._raise_end()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        speed = self._speed
        if speed is None:
            for raw in self._stream.raws():
                yield raw
        else:
            start = time.perf_counter()
            for at, raw in self._stream.frames:
                delay = start + at / speed - time.perf_counter()
                if delay > 0:
                    await anyio.sleep(delay)
                yield raw
        if self._stream.tail:
            yield self._stream.tail
        if self._held:
            self._aclosed = anyio.Event()
            if not self._closed.is_set():
                await self._aclosed.wait()
            return
        self._raise_end()

    def close(self) -> None:
        self._closed.set()

    async def aclose(self) -> None:
        self._closed.set()
        if self._aclosed is not None:
            self._aclosed.set()

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
