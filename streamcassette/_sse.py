"""SSE frame codec: byte chunks -> raw frames -> fields, and raw frames -> bytes.

A *frame* is one event block exactly as it was on the wire: its field lines, their
line endings and the blank line that dispatched it. Frames keep their raw bytes, so
encoding is concatenation and is byte-exact whatever the chunk boundaries were.

Lines end at CR, LF or CRLF bytes only (the SSE spec). ``str.splitlines`` would also
break on U+2028 and friends, which real JSON payloads carry raw, so nothing here
decodes text before splitting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["FrameDecoder", "SSEFrame", "encode_frames", "parse_frame"]

_BOM = b"\xef\xbb\xbf"
_LINE_END = re.compile(rb"\r\n|\r|\n")


class FrameDecoder:
    """Incremental splitter of an SSE byte stream into raw frames.

    ``feed`` returns the frames a chunk completed. ``flush`` ends the stream and
    returns the frames a trailing CR completed plus the unterminated tail (``b""``
    when the stream ended on a frame boundary), so no byte is ever dropped.
    """

    __slots__ = ("_buffer", "_line_start", "_scan_from")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._line_start = 0  # where the line being read starts, in the buffer
        self._scan_from = 0  # where to look for the next line ending

    def feed(self, chunk: bytes) -> list[bytes]:
        if not chunk:
            return []
        self._buffer += chunk
        return self._scan(final=False)

    def flush(self) -> tuple[list[bytes], bytes]:
        frames = self._scan(final=True)
        tail = bytes(self._buffer)
        self._buffer = bytearray()
        self._line_start = self._scan_from = 0
        return frames, tail

    def _scan(self, *, final: bool) -> list[bytes]:
        buffer = self._buffer
        end = len(buffer)
        frames: list[bytes] = []
        frame_start = 0
        line_start = self._line_start
        scan_from = end
        for match in _LINE_END.finditer(buffer, self._scan_from):
            if not final and match.end() == end and buffer[end - 1] == 0x0D:
                # A CR at the end of the data may be the first half of a CRLF:
                # leave it until the next chunk (or the end) says which.
                scan_from = match.start()
                break
            if match.start() == line_start:  # a blank line dispatches the frame
                frames.append(bytes(buffer[frame_start : match.end()]))
                frame_start = match.end()
            line_start = match.end()
        if frame_start:
            del buffer[:frame_start]
        self._line_start = line_start - frame_start
        self._scan_from = scan_from - frame_start
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
        """Whether a client dispatches something for this frame (not just a comment)."""
        return self.event is not None or self.data is not None


def parse_frame(raw: bytes) -> SSEFrame:
    """Interpret one raw frame's field lines (per the SSE spec's field rules)."""
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
    event: str | None = None
    data_lines: list[str] | None = None
    event_id: str | None = None
    retry: int | None = None
    comments: list[str] = []
    for line in _LINE_END.split(raw):
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
        elif name == b"id":
            if b"\0" not in value:
                event_id = value.decode("utf-8", "replace")
        elif name == b"retry":
            if value.isdigit():
                retry = int(value)
    return SSEFrame(
        event=event,
        data=None if data_lines is None else "\n".join(data_lines),
        id=event_id,
        retry=retry,
        comments=tuple(comments),
    )
