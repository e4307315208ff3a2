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


def event_fields(raw: bytes) -> tuple[str | None, str | None, str | None] | None:
    """``(event, data, id)`` of a raw frame, or None when it dispatches nothing (comments).

    For hot loops (masking, diffing): a fast path for the frames LangGraph servers send (an
    ``event`` line, one ``data`` line, maybe an ``id`` line, all ending in CRLF or all in LF);
    anything else goes through :func:`parse_frame`, which this agrees with (a property test
    checks it).
    """
    first = raw.find(b"\n", 7)
    if raw.startswith(b"event: ") and raw.startswith(b"data: ", first + 1):
        second = raw.find(b"\n", first + 7)
        end = len(raw)
        if raw[first - 1] == 13:  # CRLF; the usual frame: no id, no stray CR
            if second == end - 3 and raw.endswith(b"\r\n\r\n") and raw.count(b"\r") == 3:
                return (
                    raw[7 : first - 1].decode("utf-8", "replace"),
                    raw[first + 7 : second - 1].decode("utf-8", "replace"),
                    None,
                )
        elif second == end - 2 and raw.endswith(b"\n\n") and _CR not in raw:
            return (
                raw[7:first].decode("utf-8", "replace"),
                raw[first + 7 : second].decode("utf-8", "replace"),
                None,
            )
    return _event_fields_slow(raw)


def _event_fields_slow(raw: bytes) -> tuple[str | None, str | None, str | None] | None:
    """``event_fields`` for frames with an id line, or laid out otherwise (then the SSE parser)."""
    if raw[:7] != b"event: ":
        return _parsed_event_fields(raw)
    first = raw.find(b"\n", 7)
    second = raw.find(b"\n", first + 1)
    if second < 0 or raw[first + 1 : first + 7] != b"data: ":
        return _parsed_event_fields(raw)
    eol = b"\r\n" if raw[first - 1] == 13 else b"\n"  # the frame's line ending
    cut = len(eol) - 1  # how far a line's content ends before its LF
    event = raw[7 : first - cut]
    data = raw[first + 7 : second - cut]
    tail = raw[second - cut :]
    event_id: str | None = None
    if tail != eol + eol:
        id_line = eol + b"id: "
        if not tail.startswith(id_line) or not tail.endswith(eol + eol):
            return _parsed_event_fields(raw)
        raw_id = tail[len(id_line) : -2 * len(eol)]
        if _CR in raw_id or _LF in raw_id or _NUL in raw_id:
            return _parsed_event_fields(raw)
        event_id = raw_id.decode("utf-8", "replace")
    if _CR in data or _CR in event:
        return _parsed_event_fields(raw)
    return event.decode("utf-8", "replace"), data.decode("utf-8", "replace"), event_id


def _parsed_event_fields(raw: bytes) -> tuple[str | None, str | None, str | None] | None:
    parsed = parse_frame(raw)
    if not parsed.is_event:
        return None
    return parsed.event, parsed.data, parsed.id
