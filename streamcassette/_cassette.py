"""The cassette model: recorded HTTP interactions, the SSE frames of their streams and the
messages of their WebSocket connections.

Everything here is plain data. How it is written to disk lives in ``_format``; how it
is filled lives in ``_record``; how it is played lives in ``_replay``.
"""

from __future__ import annotations

import functools
import itertools
import json
import mmap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple, overload

from ._sse import SSEFrame, parse_frame

__all__ = [
    "AttachedFrames",
    "Body",
    "Cassette",
    "Interaction",
    "RecordedError",
    "RecordedFrame",
    "RecordedMessage",
    "RecordedRequest",
    "RecordedResponse",
    "RecordedStream",
    "RecordedWebSocket",
    "StreamEnd",
]


class StreamEnd(str, Enum):
    """How a recorded stream ended."""

    CLOSED = "closed"  # the server finished the response
    DROPPED = "dropped"  # the connection broke mid-stream (an httpx error was raised)
    CLIENT_STOPPED = "client_stopped"  # the client closed the response before its end


class RecordedFrame(NamedTuple):
    """One SSE frame exactly as received, ``at`` seconds after the response started."""

    at: float
    raw: bytes

    def parse(self, *, at_stream_start: bool = False) -> SSEFrame:
        """The frame's fields; a BOM is only stripped from a stream's first frame."""
        return parse_frame(self.raw, at_stream_start=at_stream_start)


class AttachedFrames(Sequence[RecordedFrame]):
    """A stream's frames whose bytes stay in a buffer (a cassette's ``.sse`` file) until
    they are asked for.

    Replaying a 100k-frame cassette would otherwise copy every frame into its own bytes
    object up front, and hold them all; here each frame is cut from the buffer as it is
    served, so the copy is made while it is hot in the cache and freed right after.
    """

    __slots__ = ("_ats", "_buffer", "_offsets", "source")

    def __init__(
        self,
        buffer: bytes | mmap.mmap,
        start: int,
        lengths: Sequence[int],
        ats: Sequence[float],
        *,
        source: Path | None = None,
    ) -> None:
        if len(lengths) != len(ats):
            msg = f"{len(lengths)} frame lengths for {len(ats)} frame times"
            raise ValueError(msg)
        self._buffer = buffer  # slicing either gives bytes
        self._offsets = list(itertools.accumulate(lengths, initial=start))
        self._ats = ats
        self.source = source  # the file the buffer holds, for messages and listings

    @property
    def nbytes(self) -> int:
        return self._offsets[-1] - self._offsets[0]

    @property
    def ats(self) -> Sequence[float]:
        """Each frame's ``at``, in order. Read only."""
        return self._ats

    def cut(self) -> tuple[bytes | mmap.mmap, Sequence[int]]:
        """The buffer and the frames' bounds in it: frame ``i`` is
        ``buffer[bounds[i]:bounds[i + 1]]``. Read only."""
        return self._buffer, self._offsets

    def span(self) -> bytes:
        """All the frames' bytes, as one slice of the buffer."""
        return bytes(self._buffer[self._offsets[0] : self._offsets[-1]])

    def raws(self) -> Iterator[bytes]:
        """Each frame's bytes, in order: what replay serves."""
        buffer, offsets = self._buffer, self._offsets
        for start, end in itertools.pairwise(offsets):
            yield buffer[start:end]

    def __len__(self) -> int:
        return len(self._ats)

    @overload
    def __getitem__(self, index: int) -> RecordedFrame: ...
    @overload
    def __getitem__(self, index: slice) -> list[RecordedFrame]: ...
    def __getitem__(self, index: int | slice) -> RecordedFrame | list[RecordedFrame]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("frame index out of range")
        start, end = self._offsets[index], self._offsets[index + 1]
        return RecordedFrame(self._ats[index], self._buffer[start:end])

    def __iter__(self) -> Iterator[RecordedFrame]:
        return map(RecordedFrame, self._ats, self.raws())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> tuple[Any, ...]:
        # A mapped file cannot be pickled or deep-copied: a copy holds its own bytes.
        offsets = self._offsets
        lengths = [end - start for start, end in itertools.pairwise(offsets)]
        data = bytes(self._buffer[offsets[0] : offsets[-1]])
        return (
            functools.partial(AttachedFrames, source=self.source),
            (data, 0, lengths, list(self._ats)),
        )

    def __repr__(self) -> str:
        where = f" in {self.source.name}" if self.source is not None else ""
        return f"<AttachedFrames: {len(self)} frames, {self.nbytes} bytes{where}>"


# What a request's sender raises when its own client abandons it (asyncio, trio, Ctrl-C).
CLIENT_CANCELS = frozenset({"CancelledError", "Cancelled", "KeyboardInterrupt"})


@dataclass(frozen=True, slots=True)
class RecordedError:
    """An exception seen while recording, kept so that replay can raise its kind again."""

    type: str  # the class name, e.g. "RemoteProtocolError"
    message: str

    @property
    def by_client(self) -> bool:
        """The client gave the request up before its response came (a cancelled task,
        Ctrl-C): nothing went wrong on the wire."""
        return self.type in CLIENT_CANCELS


@dataclass(slots=True)
class RecordedStream:
    """The SSE body of a response, frame by frame.

    ``frames`` is a list while recording; a stream loaded from a cassette's ``.sse`` file
    has :class:`AttachedFrames`, which reads the same.
    """

    frames: Sequence[RecordedFrame] = field(default_factory=list)
    end: StreamEnd = StreamEnd.CLOSED
    # Bytes after the last complete frame: a stream cut mid-frame keeps them here.
    tail: bytes = b""
    duration: float = 0.0  # from the response start to the stream's end
    error: RecordedError | None = None  # set when end is DROPPED

    @property
    def raw(self) -> bytes:
        """The stream's bytes as the server sent them."""
        return b"".join(self.raws()) + self.tail

    def raws(self) -> Iterator[bytes]:
        """Each frame's bytes, in order (the fast way for attached frames)."""
        frames = self.frames
        if isinstance(frames, AttachedFrames):
            return frames.raws()
        return (frame.raw for frame in frames)

    def cut(self) -> tuple[bytes | mmap.mmap, Sequence[int]]:
        """The frames as one buffer and their bounds in it (frame ``i`` is
        ``buffer[bounds[i]:bounds[i + 1]]``), for a loop that cuts each frame itself rather
        than resume a generator per frame. Attached frames give their buffer; frames held
        one by one are joined once."""
        frames = self.frames
        if isinstance(frames, AttachedFrames):
            return frames.cut()
        raws = [frame.raw for frame in frames]
        return b"".join(raws), list(itertools.accumulate(map(len, raws), initial=0))

    def frame_times(self) -> Sequence[float]:
        """Each frame's ``at``, in order (attached frames give theirs without building a
        frame each). Read only."""
        frames = self.frames
        if isinstance(frames, AttachedFrames):
            return frames.ats
        return [frame.at for frame in frames]

    @property
    def nbytes(self) -> int:
        """The size of the frames, tail left out."""
        frames = self.frames
        if isinstance(frames, AttachedFrames):
            return frames.nbytes
        return sum(len(frame.raw) for frame in frames)

    def events(self) -> Iterator[SSEFrame]:
        """The frames a client dispatches as events (comment-only frames left out)."""
        for index, frame in enumerate(self.frames):
            parsed = frame.parse(at_stream_start=index == 0)
            if parsed.is_event:
                yield parsed


class RecordedMessage(NamedTuple):
    """One WebSocket message, ``at`` seconds after the connection opened: ``sent`` by the
    client, or received from the server; text as ``str``, binary as ``bytes``."""

    at: float
    sent: bool
    data: str | bytes


@dataclass(slots=True)
class RecordedWebSocket:
    """A WebSocket connection after its handshake: the messages both ways, and its close.

    ``end`` is CLOSED when the server closed it, CLIENT_STOPPED when the client did, and
    DROPPED when it broke without a close frame (``error`` says how).
    """

    messages: list[RecordedMessage] = field(default_factory=list)
    end: StreamEnd = StreamEnd.CLOSED
    duration: float = 0.0  # from the handshake to the close
    close_code: int | None = None  # None when no close frame was exchanged
    close_reason: str = ""
    error: RecordedError | None = None

    def received(self) -> Iterator[RecordedMessage]:
        """The server's messages, in order."""
        return (message for message in self.messages if not message.sent)


@dataclass(frozen=True, slots=True)
class Body:
    """An HTTP body: its exact bytes, with a JSON view when it is JSON."""

    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except (ValueError, RecursionError):  # not JSON, or nested too deep to read
            return None


def _header(pairs: list[tuple[str, str]], name: str) -> str | None:
    """The first value of a header, matching its name case-insensitively."""
    lowered = name.lower()
    for key, value in pairs:
        if key.lower() == lowered:
            return value
    return None


@dataclass(slots=True)
class RecordedRequest:
    """A request as sent, with secret header and query values already redacted."""

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Body | None = None

    def header(self, name: str) -> str | None:
        return _header(self.headers, name)

    def describe(self) -> str:
        """``POST /threads/…/runs/stream?x=1`` for messages."""
        query = "&".join(f"{key}={value}" for key, value in self.query)
        return f"{self.method} {self.path}" + (f"?{query}" if query else "")


@dataclass(slots=True)
class RecordedResponse:
    """A response: a plain body, an SSE stream, or an accepted WebSocket's messages."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Body | None = None
    stream: RecordedStream | None = None
    websocket: RecordedWebSocket | None = None

    def header(self, name: str) -> str | None:
        return _header(self.headers, name)


@dataclass(slots=True)
class Interaction:
    """One request and what came of it: a response, or an error before any response."""

    request: RecordedRequest
    response: RecordedResponse | None = None
    error: RecordedError | None = None
    # When the request was sent, in seconds on the recording session's clock (one clock for
    # every interaction, so streams open at once keep their order); None in old cassettes.
    started: float | None = None

    @property
    def is_stream(self) -> bool:
        return self.response is not None and self.response.stream is not None

    @property
    def is_websocket(self) -> bool:
        """Whether the request was a WebSocket handshake (accepted or not)."""
        return self.request.method == "WEBSOCKET"


@dataclass(slots=True)
class Cassette:
    """An ordered list of interactions plus where and how they were recorded."""

    interactions: list[Interaction] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)
    # Where the cassette was loaded from or will be saved to; used in messages.
    path: Path | None = None

    def streams(self) -> Iterator[tuple[int, Interaction]]:
        """The interactions whose response is an SSE stream, with their index."""
        for index, interaction in enumerate(self.interactions):
            if interaction.is_stream:
                yield index, interaction

    def websockets(self) -> Iterator[tuple[int, Interaction]]:
        """The WebSocket interactions, with their index."""
        for index, interaction in enumerate(self.interactions):
            if interaction.is_websocket:
                yield index, interaction

    @property
    def name(self) -> str:
        return str(self.path) if self.path is not None else "<in-memory cassette>"
