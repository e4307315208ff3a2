"""SSE frame codec: byte chunks -> raw frames -> fields, and raw frames -> bytes.

A *frame* is one event block exactly as it was on the wire: its field lines, their
line endings and the blank line that dispatched it. Frames keep their raw bytes, so
encoding is concatenation and is byte-exact whatever the chunk boundaries were.

Lines end at CR, LF or CRLF bytes only (the SSE spec). That is what ``bytes.splitlines``
does; ``str.splitlines`` would also break on U+2028, U+0085 and friends, which real JSON
payloads carry raw, so nothing here decodes text before splitting.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["FrameDecoder", "SSEFrame", "encode_frames", "event_fields", "parse_frame"]

_BOM = b"\xef\xbb\xbf"
# bytes tested as ints (``0x0D in raw``): ``b"\r" in raw`` tries to read ``b"\r"`` as an int
# first, and makes and drops a TypeError each time
_CR = 0x0D
_LF = 0x0A
_NUL = 0x00


class FrameDecoder:
    """Incremental splitter of an SSE byte stream into raw frames.

    ``feed`` returns the frames a chunk completed. ``flush`` ends the stream and
    returns the frames a trailing CR completed plus the unterminated tail (``b""``
    when the stream ended on a frame boundary), so no byte is ever dropped.

    A frame ends at every blank line, so frames split the stream exactly where a client
    dispatches. A BOM opening the stream stays in the first frame's bytes but does not
    make its line non-blank.
    """

    __slots__ = ("_at_stream_start", "_buffer", "_line_start")

    def __init__(self) -> None:
        self._buffer = bytearray()  # the frame being read, from its first byte
        self._line_start = 0  # where the line being read starts, in the buffer
        self._at_stream_start = True  # whether a BOM may still open the stream

    def feed(self, chunk: bytes) -> list[bytes]:
        if not chunk:
            return []
        # With no new line ending, and no held CR for this chunk to settle, nothing can
        # complete: skipping the scan keeps a long line that arrives in pieces linear.
        settles = _LF in chunk or _CR in chunk or self._buffer.endswith(b"\r")
        self._buffer += chunk
        if self._at_stream_start and not self._skip_bom(final=False):
            return []
        return self._scan(final=False) if settles else []

    def flush(self) -> tuple[list[bytes], bytes]:
        if self._at_stream_start:
            self._skip_bom(final=True)
        frames = self._scan(final=True)
        tail = bytes(self._buffer)
        self._buffer = bytearray()  # ready for another stream
        self._line_start = 0
        self._at_stream_start = True
        return frames, tail

    def _skip_bom(self, *, final: bool) -> bool:
        """Start the first line after a BOM; False while the bytes so far may be one."""
        buffer = self._buffer
        if not final and len(buffer) < len(_BOM) and _BOM.startswith(buffer):
            return False
        self._at_stream_start = False
        if buffer.startswith(_BOM):
            self._line_start = len(_BOM)
        return True

    def _scan(self, *, final: bool) -> list[bytes]:
        buffer = self._buffer
        end = len(buffer)
        frames: list[bytes] = []
        frame_start = 0
        line_start = self._line_start
        for line in buffer[line_start:].splitlines(keepends=True):
            line_end = line_start + len(line)
            last = line[-1]
            if last != _LF and (last != _CR or (line_end == end and not final)):
                # Unterminated, or a CR at the end of the data that may be the first
                # half of a CRLF: leave it until the next chunk (or the end) says which.
                break
            first = line[0]
            if first in (_LF, _CR):  # a blank line dispatches the frame
                frames.append(bytes(buffer[frame_start:line_end]))
                frame_start = line_end
            line_start = line_end
        if frame_start:
            del buffer[:frame_start]
        self._line_start = line_start - frame_start
        return frames


def encode_frames(frames: Iterable[bytes]) -> bytes:
    """The bytes of a stream: frames are raw, so this is their concatenation."""
    return b"".join(frames)


@dataclass(frozen=True, slots=True)
class SSEFrame:
    """The fields of one frame, interpreted as the SSE spec does."""

    event: str | None = None
    data: str | None = None
    id: str | None = None
    retry: int | None = None
    comments: tuple[str, ...] = field(default=())

    @property
    def is_event(self) -> bool:
        """Whether a client yields an event for this frame (a data line or an event name).

        This is the LangGraph SDK's rule. An empty ``event:`` line alone, an ``id``, a
        ``retry`` or comments dispatch nothing a caller sees.
        """
        return bool(self.event) or self.data is not None


def parse_frame(raw: bytes, *, at_stream_start: bool = True) -> SSEFrame:
    """Interpret one raw frame's field lines (per the SSE spec's field rules).

    A leading BOM is ignored only when ``raw`` opens the stream; pass
    ``at_stream_start=False`` for later frames, where it is part of the first field name.
    """
    if at_stream_start and raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    event: str | None = None
    data_lines: list[str] | None = None
    event_id: str | None = None
    retry: int | None = None
    comments: list[str] = []
    for line in raw.splitlines():
        if not line:
            continue
        if line[0] == 0x3A:  # ":" starts a comment
            comments.append(line[1:].removeprefix(b" ").decode("utf-8", "replace"))
            continue
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if name == b"event":
            event = value.decode("utf-8", "replace")
        elif name == b"data":
            if data_lines is None:
                data_lines = []
            data_lines.append(value.decode("utf-8", "replace"))
        elif name == b"id" and _NUL not in value:
            event_id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():  # ASCII digits only
            # Ignored, as by the SDK, past int()'s digit limit (sys.set_int_max_str_digits).
            with contextlib.suppress(ValueError):
                retry = int(value)
    return SSEFrame(
        event=event,
        data=None if data_lines is None else "\n".join(data_lines),
        id=event_id,
        retry=retry,
        comments=tuple(comments),
    )


# The frame LangGraph servers send: an ``event`` line, one ``data`` line, maybe an ``id``
# line, all ending in CRLF (the Python server) or all in LF (the JavaScript server)
_CRLF_FRAME = re.compile(
    rb"event: ([^\n]*)\r\ndata: ([^\n]*)\r\n(?:id: ([^\n]*)\r\n)?\r\n"
).fullmatch
_LF_FRAME = re.compile(rb"event: ([^\n]*)\ndata: ([^\n]*)\n(?:id: ([^\n]*)\n)?\n").fullmatch


def event_fields(raw: bytes) -> tuple[str | None, str | None, str | None] | None:
    """``(event, data, id)`` of a raw frame, or None when it dispatches nothing (comments).

    For hot loops (masking, diffing): the frames LangGraph servers send are read with one
    regex, unless a line holds a stray CR (which ends that line) or the id a NUL (which
    makes the parser ignore it); anything else goes through :func:`parse_frame`, which
    this agrees with (a property test checks it).
    """
    found = _CRLF_FRAME(raw) or _LF_FRAME(raw)
    if found is None:
        return _parsed_event_fields(raw)
    event, data, event_id = found.groups()
    if (
        _CR in data
        or _CR in event
        or (event_id is not None and (_CR in event_id or _NUL in event_id))
    ):
        return _parsed_event_fields(raw)
    return (
        event.decode("utf-8", "replace"),
        data.decode("utf-8", "replace"),
        None if event_id is None else event_id.decode("utf-8", "replace"),
    )


def _parsed_event_fields(raw: bytes) -> tuple[str | None, str | None, str | None] | None:
    parsed = parse_frame(raw)
    if not parsed.is_event:
        return None
    return parsed.event, parsed.data, parsed.id
