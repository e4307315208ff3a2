"""Cassette files: a readable, git-diffable JSON layout, versioned, written atomically.

Layout of version 3 (keys always in this order, two-space indent)::

    {
      "format": "streamcassette",
      "version": 3,
      "provenance": {...},
      "interactions": [
        {
          "started": 0.0021,                                   # seconds on the session clock
          "request": {"method": ..., "path": ..., "query": [[k, v]], "headers": [[k, v]],
                      "json": ... | "text": ... | "base64": ...},
          "response": {"status": 200, "headers": [[k, v]],
                       "json" | "text" | "base64": ...,            # a plain body, or
                       "stream": {"end": "closed", "duration": 0.1,
                                  "frames": [
                                    [0.000812, "event: metadata\\r\\ndata: {...}\\r\\n\\r\\n"],
                                    ...                              # one frame per line
                                  ],
                                  "tail": "..."}}                    # only when cut mid-frame
        }
      ]
    }

A frame is ``[seconds_since_response_start, raw_text]``; raw bytes that are not UTF-8
are written as ``{"base64": ...}`` instead of the text. A body is written as ``json`` only
when re-serialising that JSON reproduces the recorded bytes exactly, so replay stays
byte-exact while the file stays readable.

Big recordings attach their frames instead of embedding them (like a HAR file's
attached content): the bytes go verbatim, stream after stream, into the cassette's
``.sse`` file (``agent.sse`` beside ``agent.json``), which reads as the wire format, and
the stream keeps where its bytes start and each frame's time and length, still one frame
per line::

    "stream": {"end": "closed", "duration": 0.1,
               "attached": {"offset": 0},
               "frames": [
                 0.000812, 104,                  # seconds, length: one frame a line
                 0.000851, 1103,
                 ...
               ]}

The pairs are not lists of their own because a flat list of numbers loads in half the
time, which at 100k frames is a tenth of replay's margin over the SDK's own speed.

Embedded frames cost a JSON string's unescaping on every load (a 1 KB frame of JSON has
a hundred escaped quotes), which is slower than the SDK reading the frame; attached ones
are cut from the file as replay serves them. ``save`` attaches once a cassette's frames
reach ``ATTACH_FROM`` bytes, or as told.

The ``.sse`` file is found by the cassette's own name, not named inside it, so the two
are renamed and copied together as a pair, like any file and its companion.

Version 3 adds to each interaction an optional ``"started"``: when its request was sent, in
seconds on the session's clock (the first request of a recording is sent at about 0). A
session may have several responses open at once; replay uses it to keep their frames in the
order they were recorded across streams.

Version 3 also adds WebSocket interactions (the v3 thread protocol's event streams). The
handshake is recorded as a request with the method ``"WEBSOCKET"`` (a GET asking for an
upgrade, which no plain HTTP request can be confused with); an accepted one (status 101)
has the connection's messages, one per line, ``">"`` sent by the client and ``"<"``
received, text as text, and how it closed::

    "response": {"status": 101, "headers": [[k, v]],
                 "websocket": {"end": "client_stopped", "duration": 0.9,
                               "close": {"code": 1000, "reason": "client close"},
                               "messages": [
                                 [0.0004, ">", "{\"id\":1,\"method\":\"subscribe\",...}"],
                                 [0.6612, "<", "{\"type\":\"event\",\"seq\":1,...}"],
                                 ...
                               ]}}

Version 3 also adds an optional last key, ``"sse_crc32"``: the CRC-32 of the ``.sse``
file's frames, which ``save`` also writes as that file's last line, an SSE comment
(``: streamcassette crc32 3f9ca2b1``) after the last frame. Loading compares the two
(without reading the frames) and refuses a pair that disagrees, naming both files: a save
interrupted between its two renames, or files from two different saves, cannot pass for
one recording however equal their frame lengths, while saving the same frames again writes
the same bytes. A pair without them (written before they existed) reads as before.

Version 1 is version 2 without attached streams; version 2 is version 3 without ``started``,
WebSocket interactions and ``sse_crc32``.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import mmap
import os
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO

import orjson

from ._cassette import (
    AttachedFrames,
    Body,
    Cassette,
    Interaction,
    RecordedError,
    RecordedFrame,
    RecordedMessage,
    RecordedRequest,
    RecordedResponse,
    RecordedStream,
    RecordedWebSocket,
    StreamEnd,
)
from ._errors import (
    CassetteFormatError,
    CassetteNotFoundError,
    StreamCassetteError,
    UnsupportedVersionError,
)
from ._gc import paused_gc

__all__ = [
    "ATTACH_FROM",
    "CURRENT_VERSION",
    "FORMAT_NAME",
    "SUPPORTED_VERSIONS",
    "attached_file",
    "dumps",
    "frames_file_path",
    "load",
    "loads",
    "save",
]

FORMAT_NAME = "streamcassette"
CURRENT_VERSION = 3

# No recording is a week long: a larger time is a corrupt file, not a slow server.
_MAX_SECONDS = 7 * 24 * 3600.0

# JSON values (bodies, provenance) nested deeper than this are not read as JSON: recording
# keeps such a body as text, and loading refuses a deeper ``json`` value by name, so that no
# later step (saving, matching, masking) runs out of stack on it.
MAX_JSON_DEPTH = 256

# ``save`` attaches a cassette's frames (see the module docstring) from this many bytes on.
ATTACH_FROM = 1 << 20


def _upgrade_v1_to_v2(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 2 only added attached streams: a version 1 document reads as it is."""
    return doc


def _upgrade_v2_to_v3(doc: dict[str, Any]) -> dict[str, Any]:
    """Version 3 only added optional fields (an interaction's ``started`` time on the
    session clock, a response's ``websocket``, the ``.sse`` file's ``sse_crc32``): a
    version 2 document reads as it is."""
    return doc


# Each entry upgrades a parsed document from version N - 1 to N; ``loads`` applies them
# in order, so old files keep loading.
_UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    2: _upgrade_v1_to_v2,
    3: _upgrade_v2_to_v3,
}
SUPPORTED_VERSIONS = (*(version - 1 for version in sorted(_UPGRADES)), CURRENT_VERSION)


# --- writing -------------------------------------------------------------------------


def dumps(cassette: Cassette) -> str:
    """The file text for a cassette (format version ``CURRENT_VERSION``), every frame
    embedded."""
    return "".join(_dump(cassette, None))


def frames_file_path(path: Path | str) -> Path:
    """Where the frames of the cassette at ``path`` go when attached: ``agent.sse`` for
    ``agent.json``."""
    path = Path(path)
    sidecar = path.with_suffix(".sse")
    return sidecar if sidecar != path else path.with_name(path.name + ".sse")


def attached_file(path: Path | str) -> Path | None:
    """The cassette's ``.sse`` file if the cassette at ``path`` attaches frames in it: what
    must be renamed, copied, committed or deleted with it. None if it attaches none.

    Only the cassette's JSON is read, and not checked as ``load`` checks it.
    """
    path = Path(path)
    try:
        with path.open("rb") as handle, _contents(handle) as data:
            doc = _json(data, path)
    except FileNotFoundError:
        raise CassetteNotFoundError(path) from None
    interactions = doc.get("interactions") if isinstance(doc, dict) else None
    for interaction in interactions if isinstance(interactions, list) else ():
        stream = _member(interaction, "response", "stream")
        if isinstance(stream, dict) and "attached" in stream:
            return frames_file_path(path)
    return None


def _member(obj: Any, *keys: str) -> Any:
    """``obj[key1][key2]...``, or None where a level is missing or not an object."""
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


# The last line of a ``.sse`` file: an SSE comment with the CRC-32 of the frames before it.
_CRC_PREFIX = b": streamcassette crc32 "


class _FramesFile:
    """The attached frames of the cassette ``save`` is writing, streams one after another,
    then a line with their CRC-32 (see the module docstring)."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.size = 0
        self._crc = 0
        self.used = False  # whether any stream attached its frames

    @property
    def crc32(self) -> str:
        return f"{self._crc:08x}"

    def add(self, stream: RecordedStream) -> int:
        """Append the stream's frames; the offset they start at."""
        offset = self.size
        self.used = True
        crc, write = self._crc, self.handle.write
        frames = stream.frames
        if isinstance(frames, AttachedFrames):  # one slice of the buffer it came from
            data = frames.span()
            write(data)
            crc = zlib.crc32(data, crc)
        else:
            # A thousand frames at a time: one write and one CRC call each, not one per
            # frame (a Python call per frame made saving 100k frames a third slower).
            raws = stream.raws()
            while batch := list(itertools.islice(raws, 1024)):
                data = b"".join(batch)
                write(data)
                crc = zlib.crc32(data, crc)
        self._crc = crc
        self.size += stream.nbytes
        return offset

    def finish(self) -> None:
        self.handle.write(_CRC_PREFIX + self.crc32.encode("ascii") + b"\n")


def _dump(cassette: Cassette, frames_file: _FramesFile | None) -> Iterator[str]:
    """The file text in pieces, each frame its own piece.

    A stream's frames are never joined into one string that each enclosing level would
    copy again: at 100k frames those copies were nine tenths of the time of ``save``,
    and one non-Latin-1 character (an emoji in one token) made every copy four bytes a
    character. ``save`` writes the pieces as they come.
    """
    yield "{\n"
    yield f'  "format": {_j(FORMAT_NAME)},\n'
    yield f'  "version": {CURRENT_VERSION},\n'
    yield f'  "provenance": {_indent(_pretty(cassette.provenance), 2)},\n'
    yield '  "interactions": ['
    for index, interaction in enumerate(cassette.interactions):
        yield ",\n    " if index else "\n    "
        yield from _dump_interaction(interaction, frames_file)
    yield "\n  ]" if cassette.interactions else "]"
    if frames_file is not None and frames_file.used:
        frames_file.finish()
        yield f',\n  "sse_crc32": "{frames_file.crc32}"'
    yield "\n}\n"


def save(cassette: Cassette, path: Path | str | None = None, *, attach: bool | None = None) -> Path:
    """Write atomically (temp files in the same folder, then renames); returns the path.

    ``attach`` puts the frames in the cassette's ``.sse`` file (see the module docstring);
    by default that happens once they reach ``ATTACH_FROM`` bytes. The ``.sse`` file is
    renamed into place before the cassette, so a cassette never attaches frames that
    are not there yet; a ``.sse`` file that an earlier save attached and this one does not
    need is removed. Both files carry the frames' CRC-32, so a crash between the
    renames leaves a pair that ``load`` refuses rather than mixes; concurrent saves to one
    folder rename one after the other (an advisory lock on the folder, where the platform
    has ``fcntl``).
    """
    target = Path(path) if path is not None else cassette.path
    if target is None:
        msg = "save() needs a path: the cassette has none"
        raise ValueError(msg)
    if attach is None:
        attach = _frames_size(cassette) >= ATTACH_FROM
    attach = attach and any(stream.frames for stream in _streams(cassette))
    sidecar = frames_file_path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []  # (temp file, final path), renamed in this order
    try:
        with contextlib.ExitStack() as files:
            frames_file = None
            if attach:
                frames_file = _FramesFile(_stage(sidecar, "wb", files, staged))
            _stage(target, "w", files, staged).writelines(_dump(cassette, frames_file))
        # Writers to one folder take turns for the renames (never for the writing), so two
        # saves of one cassette cannot interleave theirs: the last to rename wins, whole.
        with _renaming(target.parent):
            stale = not attach and _attaches(target, sidecar)
            for tmp, final in staged:
                os.chmod(tmp, _file_mode(final))
                os.replace(tmp, final)
            if stale:
                with contextlib.suppress(OSError):  # a leftover is harmless; a failed save is not
                    sidecar.unlink()
    except BaseException:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise
    cassette.path = target
    return target


@contextlib.contextmanager
def _renaming(folder: Path) -> Iterator[None]:
    """Hold the folder's advisory lock (``flock`` on the folder itself: no lock file to leave
    behind) while a save renames its files into place; a no-op where there is no ``fcntl``."""
    try:
        import fcntl
    except ImportError:  # Windows: saves of one cassette from two processes may interleave
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # a folder we can write but not open: rename unlocked, as before
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _stage(
    final: Path, mode: str, files: contextlib.ExitStack, staged: list[tuple[str, Path]]
) -> Any:
    """A new temp file beside ``final``, open for writing; ``files`` syncs and closes it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    staged.append((tmp, final))
    handle: IO[Any] = (
        os.fdopen(fd, "w", encoding="utf-8", newline="\n") if mode == "w" else os.fdopen(fd, "wb")
    )
    files.enter_context(handle)
    files.callback(_sync, handle)  # runs before the close: the stack unwinds in reverse
    return handle


def _sync(handle: IO[Any]) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _streams(cassette: Cassette) -> Iterator[RecordedStream]:
    for interaction in cassette.interactions:
        if interaction.response is not None and interaction.response.stream is not None:
            yield interaction.response.stream


def _frames_size(cassette: Cassette) -> int:
    return sum(stream.nbytes for stream in _streams(cassette))


def _attaches(cassette_file: Path, frames_file: Path) -> bool:
    """Whether the cassette file now at ``cassette_file`` attaches frames in ``frames_file``
    (not when there is no such cassette, or it cannot be read)."""
    try:
        return attached_file(cassette_file) == frames_file
    except (StreamCassetteError, OSError):
        return False


def _file_mode(target: Path) -> int:
    """Keep an existing file's mode; new files get the usual 0o666 less the umask."""
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _dump_interaction(interaction: Interaction, frames_file: _FramesFile | None) -> Iterator[str]:
    yield "{\n"
    if interaction.started is not None:
        yield f'      "started": {_j(round(interaction.started, 6))},\n'
    yield f'      "request": {_indent(_dump_request(interaction.request), 6)}'
    if interaction.response is not None:
        yield ',\n      "response": '
        yield from _dump_response(interaction.response, frames_file)
    if interaction.error is not None:
        yield f',\n      "error": {_j(_error_dict(interaction.error))}'
    yield "\n    }"


def _dump_request(request: RecordedRequest) -> str:
    lines = [
        f'"method": {_j(request.method)}',
        f'"path": {_j(request.path)}',
        f'"query": {_pairs(request.query, 2)}',
        f'"headers": {_pairs(request.headers, 2)}',
    ]
    if request.body is not None:
        key, value = next(iter(_body_dict(request.body).items()))
        lines.append(f"{_j(key)}: {_indent(_pretty(value), 2)}")
    return "{\n  " + ",\n  ".join(lines) + "\n}"


def _pairs(pairs: list[tuple[str, str]], indent: int) -> str:
    """Name/value pairs, one per line, so a changed header is a one-line diff."""
    if not pairs:
        return "[]"
    pad = " " * (indent + 2)
    items = f",\n{pad}".join(_j(list(pair)) for pair in pairs)
    return f"[\n{pad}{items}\n{' ' * indent}]"


def _dump_response(response: RecordedResponse, frames_file: _FramesFile | None) -> Iterator[str]:
    lines = [
        f'"status": {response.status}',
        f'"headers": {_pairs(response.headers, 8)}',
    ]
    if response.body is not None:
        key, value = next(iter(_body_dict(response.body).items()))
        lines.append(f"{_j(key)}: {_indent(_pretty(value), 8)}")
    yield "{\n        " + ",\n        ".join(lines)
    if response.stream is not None:
        yield ',\n        "stream": '
        yield from _dump_stream(response.stream, frames_file)
    if response.websocket is not None:
        yield ',\n        "websocket": '
        yield from _dump_websocket(response.websocket)
    yield "\n      }"


def _dump_websocket(websocket: RecordedWebSocket) -> Iterator[str]:
    head = [f'"end": {_j(websocket.end.value)}', f'"duration": {round(websocket.duration, 6)}']
    if websocket.close_code is not None:
        close = {"code": websocket.close_code, "reason": websocket.close_reason}
        head.append(f'"close": {_j(close)}')
    if websocket.error is not None:
        head.append(f'"error": {_j(_error_dict(websocket.error))}')
    yield "{\n          " + ",\n          ".join(head)
    if websocket.messages:
        yield ',\n          "messages": [\n            '
        yield ",\n            ".join(map(_dump_message, websocket.messages))
        yield "\n          ]"
    else:
        yield ',\n          "messages": []'
    yield "\n        }"


def _dump_message(message: RecordedMessage) -> str:
    data = message.data
    value = _j_text(data) if isinstance(data, str) else _j(_raw_value_b64(data))
    return f'[{round(message.at, 6)}, "{">" if message.sent else "<"}", {value}]'


def _raw_value_b64(data: bytes) -> dict[str, str]:
    """A binary message: always base64, so it reads back as bytes, not text."""
    return {"base64": base64.b64encode(data).decode("ascii")}


def _dump_stream(stream: RecordedStream, frames_file: _FramesFile | None) -> Iterator[str]:
    head = [f'"end": {_j(stream.end.value)}', f'"duration": {round(stream.duration, 6)}']
    if stream.error is not None:
        head.append(f'"error": {_j(_error_dict(stream.error))}')
    dump_frame = _dump_frame
    if frames_file is not None and stream.frames:
        offset = frames_file.add(stream)
        head.append(f'"attached": {{"offset": {offset}}}')
        dump_frame = _dump_attached_frame
    yield "{\n          " + ",\n          ".join(head)
    if stream.frames:
        yield ',\n          "frames": [\n            '
        frames = iter(stream.frames)
        yield dump_frame(next(frames))
        for frame in frames:
            yield ",\n            " + dump_frame(frame)
        yield "\n          ]"
    else:
        yield ',\n          "frames": []'
    if stream.tail:
        yield f',\n          "tail": {_j(_raw_value(stream.tail))}'
    yield "\n        }"


def _dump_frame(frame: RecordedFrame) -> str:
    value = _raw_value(frame.raw)
    return f"[{round(frame.at, 6)}, {_j_text(value) if isinstance(value, str) else _j(value)}]"


def _dump_attached_frame(frame: RecordedFrame) -> str:
    return f"{round(frame.at, 6)}, {len(frame.raw)}"


def _raw_value(raw: bytes) -> str | dict[str, str]:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode("ascii")}


def _body_dict(body: Body) -> dict[str, Any]:
    content = body.content
    try:
        value = orjson.loads(content)
    except orjson.JSONDecodeError:  # also what orjson says to JSON nested past 1024 levels
        pass
    else:
        if json_depth(value) <= MAX_JSON_DEPTH and _compact_json(value) == content:
            return {"json": value}
    try:
        return {"text": content.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(content).decode("ascii")}


def _compact_json(value: Any) -> bytes:
    """The server's (orjson's) compact JSON form, which a ``json`` body must reproduce."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _error_dict(error: RecordedError) -> dict[str, str]:
    return {"type": error.type, "message": error.message}


def _j(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _j_text(text: str) -> str:
    """``_j`` of a string, several times faster: orjson escapes exactly the characters
    ``json.dumps(ensure_ascii=False)`` does, the same way (tested on every code point)."""
    return orjson.dumps(text).decode("utf-8")


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _indent(text: str, by: int) -> str:
    return text.replace("\n", "\n" + " " * by)


# --- reading -------------------------------------------------------------------------


def load(path: Path | str) -> Cassette:
    """Read and validate a cassette file; errors name the file and what is wrong."""
    path = Path(path)
    for attempt in itertools.count():
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            raise CassetteNotFoundError(path) from None
        except IsADirectoryError:
            raise CassetteFormatError(path, "is a directory, not a cassette file") from None
        try:
            with handle, _contents(handle) as data:
                read = os.fstat(handle.fileno())
                return _parse(data, path)
        except _GenerationMismatch:
            # Read between the two renames of a save: the next read sees the new pair. A
            # mismatch that lasts is a broken pair, and the error says so.
            if attempt >= _MISMATCH_RETRIES:
                raise
            time.sleep(_MISMATCH_PAUSE)
        except _FramesFileGone:
            # An attached cassette read just before a save replaced it with an embedded one
            # (which deletes the old .sse file): read the new file. If the file read is
            # still the cassette's, the .sse file really is missing.
            if attempt >= _MISMATCH_RETRIES or not _replaced_since(path, read):
                raise
    raise AssertionError("unreachable")


# How long ``load`` waits out a save that is renaming the pair it reads: 20 x 10 ms.
_MISMATCH_RETRIES = 20
_MISMATCH_PAUSE = 0.01


class _GenerationMismatch(CassetteFormatError):
    """A cassette and a ``.sse`` file from different saves."""


class _FramesFileGone(CassetteFormatError):
    """An attached cassette whose ``.sse`` file is not there."""


def _replaced_since(path: Path, read: os.stat_result) -> bool:
    """Whether ``path`` names another file than the one read (a save renamed a new one)."""
    try:
        now = os.stat(path)
    except OSError:
        return False
    return (now.st_ino, now.st_dev) != (read.st_ino, read.st_dev)


# Files from this size on are mapped rather than read (see ``_contents``).
_MAP_FROM = 1 << 20


@contextlib.contextmanager
def _contents(handle: BinaryIO) -> Iterator[bytes | memoryview]:
    """The bytes of an open file; a big one is memory-mapped, not read.

    The parser then reads the OS's page cache in place instead of a copy of the file in
    freshly allocated memory, which is a sixth of the load time of a 100 MB cassette.
    Small files are read: there is nothing to gain, and a file cut short by another
    process while mapped would crash the reader (SIGBUS) instead of failing to parse.
    ``save`` replaces files by renaming, so it never cuts a mapped file short.
    """
    contents = _read_or_map(handle)
    if isinstance(contents, bytes):
        yield contents
        return
    with contents, memoryview(contents) as view:
        yield view


def _read_or_map(handle: BinaryIO) -> bytes | mmap.mmap:
    """A small file's bytes, or a big one mapped (see ``_contents``)."""
    if os.fstat(handle.fileno()).st_size < _MAP_FROM:
        return handle.read()
    return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)


def loads(data: bytes | str, *, path: Path | str | None = None) -> Cassette:
    """Parse cassette text; ``path`` is only used to name the file in errors."""
    return _parse(data, path)


def _parse(data: bytes | memoryview | str, path: Path | str | None) -> Cassette:
    """``loads``, also for a mapped file's bytes (see ``load``)."""
    with paused_gc():
        doc = _json(data, path)
        reader = _Reader(path)
        cassette = reader.cassette(reader.upgrade(doc))
        reader.check_frames_file()
    cassette.path = Path(path) if path is not None else None
    return cassette


def _json(data: bytes | memoryview | str, path: Path | str | None) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise CassetteFormatError(
            path, f"not valid JSON: {exc.msg}", line=exc.lineno, column=exc.colno
        ) from None


def _plain_frames(raw_frames: list[Any]) -> list[RecordedFrame] | None:
    """The frames if every one is ``[offset, "text"]`` with a float offset >= 0, as ``save``
    writes them; otherwise None, and ``_Reader.frame`` checks them one by one and explains.

    The hot path of loading: each frame is decided by the few operations that build it.
    Unpacking takes a pair; ``type(at) is float`` turns away ints, bools and strings
    (``float()`` would accept ``"1.5"`` and ``true``); only a str has ``.encode``.
    """
    try:
        frames = [
            RecordedFrame(at, raw.encode("utf-8"))
            for at, raw in raw_frames
            if type(at) is float and 0.0 <= at < _MAX_SECONDS
        ]
    except (TypeError, ValueError, AttributeError):
        return None
    return frames if len(frames) == len(raw_frames) else None


def _attached_frames(values: list[Any]) -> tuple[list[float], list[int]] | None:
    """Times and lengths if ``values`` pairs a float offset >= 0 with an int length >= 0
    for each frame, as ``save`` writes them; otherwise None, and ``_Reader.attached_pair``
    checks them one by one and explains. Whole-list operations only: this is the hot
    path of loading a big cassette (a flat list parses in half the time of pairs)."""
    if len(values) % 2:
        return None
    ats, lengths = values[0::2], values[1::2]
    if ats and (
        set(map(type, ats)) != {float}
        or set(map(type, lengths)) != {int}
        or min(ats) < 0
        or max(ats) >= _MAX_SECONDS
        or min(lengths) < 0
    ):
        return None
    return ats, lengths


class _FramesBuffer:
    """An attached frames file as read for loading: its bytes and which the streams use."""

    def __init__(self, path: Path, buffer: bytes | mmap.mmap) -> None:
        self.path = path
        self.buffer = buffer
        self.spans: list[tuple[int, int]] = []  # (start, end) of each stream using it
        # The CRC-32 its last line gives (None in files without one), and where the
        # frames end: before that line.
        self.crc32: str | None = None
        self.end = len(buffer)
        tail_at = buffer.rfind(_CRC_PREFIX, max(0, len(buffer) - 64))
        if tail_at >= 0 and buffer[-1:] == b"\n":
            self.crc32 = bytes(buffer[tail_at + len(_CRC_PREFIX) : -1]).decode("ascii", "replace")
            self.end = tail_at


class _Reader:
    """Validates a parsed document while building the model; errors carry a JSON path."""

    def __init__(self, path: Path | str | None) -> None:
        self.path = path
        self.frames_buffer: _FramesBuffer | None = None  # the .sse file, once read
        self.crc32: str | None = None  # the .sse file's CRC-32 as the cassette names it

    def fail(self, where: str, problem: str) -> CassetteFormatError:
        return CassetteFormatError(self.path, f"{where}: {problem}" if where else problem)

    def upgrade(self, doc: Any) -> dict[str, Any]:
        if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
            found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
            raise self.fail(
                "",
                f'not a streamcassette cassette (expected "format": {FORMAT_NAME!r}, '
                f"found {found!r})",
            )
        version = doc.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise self.fail("version", f"must be an integer, found {version!r}")
        if version not in SUPPORTED_VERSIONS:
            supported = ", ".join(map(str, SUPPORTED_VERSIONS))
            advice = (
                "it was written by a newer streamcassette; upgrade streamcassette"
                if version > CURRENT_VERSION
                else "it is too old to upgrade; re-record it"
            )
            raise UnsupportedVersionError(
                self.path,
                f"format version {version} is not supported (this release reads {supported}); "
                f"{advice}",
            )
        upgraded: dict[str, Any] = doc
        while version < CURRENT_VERSION:
            upgraded = _UPGRADES[version + 1](upgraded)
            version += 1
        return upgraded

    def cassette(self, doc: dict[str, Any]) -> Cassette:
        provenance = doc.get("provenance", {})
        if not isinstance(provenance, dict):
            raise self.fail("provenance", "must be an object")
        self.check_depth(provenance, "provenance")
        crc32 = doc.get("sse_crc32")
        if crc32 is not None and not isinstance(crc32, str):
            raise self.fail("sse_crc32", f"must be a string, found {_describe(crc32)}")
        self.crc32 = crc32
        interactions = self.field(doc, "interactions", list, "")
        return Cassette(
            interactions=[
                self.interaction(item, f"interactions[{index}]")
                for index, item in enumerate(interactions)
            ],
            provenance=provenance,
        )

    def field(self, obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
        if not isinstance(obj, dict):
            raise self.fail(where, "must be an object")
        if key not in obj:
            raise self.fail(where, f"missing field {key!r}")
        value = obj[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(
                f"{where}.{key}" if where else key,
                f"must be {_JSON_NAMES.get(names, names)}, found {_describe(value)}",
            )
        return value

    def interaction(self, obj: Any, where: str) -> Interaction:
        request = self.request(self.field(obj, "request", dict, where), f"{where}.request")
        response = None
        if "response" in obj:
            response = self.response(self.field(obj, "response", dict, where), f"{where}.response")
        error = self.error(obj["error"], f"{where}.error") if "error" in obj else None
        if response is None and error is None:
            raise self.fail(where, "needs a 'response' or an 'error'")
        started = None
        if "started" in obj:
            started = self.field(obj, "started", (int, float), where)
            if not 0 <= started < _MAX_SECONDS:
                raise self.fail(f"{where}.started", f"must be seconds >= 0, found {started!r}")
            started = float(started)
        return Interaction(request=request, response=response, error=error, started=started)

    def request(self, obj: dict[str, Any], where: str) -> RecordedRequest:
        return RecordedRequest(
            method=self.field(obj, "method", str, where),
            path=self.field(obj, "path", str, where),
            query=self.pairs(obj.get("query", []), f"{where}.query"),
            headers=self.pairs(obj.get("headers", []), f"{where}.headers"),
            body=self.body(obj, where),
        )

    def response(self, obj: dict[str, Any], where: str) -> RecordedResponse:
        stream = None
        if "stream" in obj:
            stream = self.stream(self.field(obj, "stream", dict, where), f"{where}.stream")
        websocket = None
        if "websocket" in obj:
            websocket = self.websocket(
                self.field(obj, "websocket", dict, where), f"{where}.websocket"
            )
        return RecordedResponse(
            status=self.status(obj, where),
            headers=self.pairs(obj.get("headers", []), f"{where}.headers"),
            body=self.body(obj, where),
            stream=stream,
            websocket=websocket,
        )

    def websocket(self, obj: dict[str, Any], where: str) -> RecordedWebSocket:
        end = self.end(obj, where)
        duration = self.field(obj, "duration", (int, float), where)
        close_code, close_reason = None, ""
        if "close" in obj:
            close = self.field(obj, "close", dict, where)
            close_code = self.field(close, "code", int, f"{where}.close")
            close_reason = str(close.get("reason", ""))
        error = self.error(obj["error"], f"{where}.error") if "error" in obj else None
        raw_messages = self.field(obj, "messages", list, where)
        return RecordedWebSocket(
            messages=[
                self.message(item, f"{where}.messages[{index}]")
                for index, item in enumerate(raw_messages)
            ],
            end=end,
            duration=float(duration),
            close_code=close_code,
            close_reason=close_reason,
            error=error,
        )

    def message(self, item: Any, where: str) -> RecordedMessage:
        if not isinstance(item, list) or len(item) != 3 or item[1] not in (">", "<"):
            raise self.fail(
                where,
                'a message must be [offset_seconds, ">" (sent) or "<" (received), data], '
                f"found {_describe(item)}",
            )
        at, direction, data = item
        if not isinstance(at, (int, float)) or isinstance(at, bool) or at < 0:
            raise self.fail(where, f"offset must be a non-negative number, found {at!r}")
        value: str | bytes = data if isinstance(data, str) else self.raw(data, where)
        return RecordedMessage(float(at), direction == ">", value)

    def end(self, obj: dict[str, Any], where: str) -> StreamEnd:
        end_value = self.field(obj, "end", str, where)
        try:
            return StreamEnd(end_value)
        except ValueError:
            allowed = ", ".join(repr(e.value) for e in StreamEnd)
            problem = f"must be one of {allowed}, found {end_value!r}"
            raise self.fail(f"{where}.end", problem) from None

    def stream(self, obj: dict[str, Any], where: str) -> RecordedStream:
        end = self.end(obj, where)
        duration = self.field(obj, "duration", (int, float), where)
        if not 0 <= duration < _MAX_SECONDS:
            raise self.fail(
                f"{where}.duration", f"must be seconds >= 0 and under a week, found {duration!r}"
            )
        raw_frames = self.field(obj, "frames", list, where)
        frames: Sequence[RecordedFrame] | None
        if "attached" in obj:
            frames = self.attached(obj, raw_frames, where)
        else:
            frames = _plain_frames(raw_frames)
            if frames is None:
                frames = [
                    self.frame(item, f"{where}.frames[{index}]")
                    for index, item in enumerate(raw_frames)
                ]
        tail = b""
        if "tail" in obj:
            tail = self.raw(obj["tail"], f"{where}.tail")
        error = self.error(obj["error"], f"{where}.error") if "error" in obj else None
        return RecordedStream(
            frames=frames, end=end, tail=tail, duration=float(duration), error=error
        )

    def frame(self, item: Any, where: str) -> RecordedFrame:
        if not isinstance(item, list) or len(item) != 2:
            raise self.fail(
                where, f"a frame must be [offset_seconds, raw], found {_describe(item)}"
            )
        at, raw = item
        if not isinstance(at, (int, float)) or isinstance(at, bool) or at < 0:
            raise self.fail(where, f"offset must be a non-negative number, found {at!r}")
        if at >= _MAX_SECONDS:
            raise self.fail(
                where, f"offset must be under a week ({_MAX_SECONDS:g} s), found {at!r}"
            )
        return RecordedFrame(float(at), self.raw(raw, where))

    def attached(self, obj: dict[str, Any], raw_frames: list[Any], where: str) -> AttachedFrames:
        attached = self.field(obj, "attached", dict, where)
        offset = self.field(attached, "offset", int, f"{where}.attached")
        checked = _attached_frames(raw_frames)
        if checked is None:
            if len(raw_frames) % 2:
                raise self.fail(
                    f"{where}.frames",
                    "attached frames are listed as seconds and length, a pair per frame; "
                    f"found an odd count of numbers ({len(raw_frames)})",
                )
            pairs = [
                self.attached_pair(raw_frames, index, f"{where}.frames")
                for index in range(0, len(raw_frames), 2)
            ]
            checked = [at for at, _ in pairs], [length for _, length in pairs]
        ats, lengths = checked
        frames_file = self.frames_file(f"{where}.attached")
        frames = AttachedFrames(frames_file.buffer, offset, lengths, ats, source=frames_file.path)
        end = offset + frames.nbytes
        if offset < 0 or end > frames_file.end:
            raise self.fail(
                f"{where}.attached",
                f"its {len(frames)} frames take bytes {offset} to {end} of "
                f"{frames_file.path}, which has {frames_file.end}; " + _MISMATCH_ADVICE,
            )
        frames_file.spans.append((offset, end))
        return frames

    def attached_pair(self, values: list[Any], index: int, where: str) -> tuple[float, int]:
        at, length = values[index], values[index + 1]
        if at_error := _seconds_error(at):
            raise self.fail(f"{where}[{index}]", f"frame {index // 2}: {at_error}")
        if not isinstance(length, int) or isinstance(length, bool) or length < 0:
            raise self.fail(
                f"{where}[{index + 1}]",
                f"frame {index // 2}: length must be a non-negative integer, "
                f"found {_describe(length)}",
            )
        return float(at), length

    def frames_file(self, where: str) -> _FramesBuffer:
        """The cassette's ``.sse`` file, read once however many streams it holds."""
        if self.frames_buffer is not None:
            return self.frames_buffer
        if self.path is None:
            raise self.fail(
                where,
                "its frames are attached in the cassette's .sse file, so the cassette must "
                "be loaded from its file (load(path), or loads(text, path=...))",
            )
        path = frames_file_path(self.path)
        try:
            with path.open("rb") as handle:
                # A map stays open while the loaded frames use it: replay cuts them from it.
                buffer = _read_or_map(handle)
        except FileNotFoundError:
            raise _FramesFileGone(
                self.path,
                f"{where}: its frames are attached in {path}, which is missing; a cassette "
                "and its .sse file are one recording: rename, copy and commit them together",
            ) from None
        except (OSError, ValueError) as exc:  # a folder, no permission, ...
            raise self.fail(where, f"cannot read its frames file {path}: {exc}") from None
        frames_file = _FramesBuffer(path, buffer)
        if self.crc32 != frames_file.crc32:
            raise _GenerationMismatch(
                self.path,
                f"the cassette gives its frames' CRC-32 as {self.crc32 or '(none)'} but "
                f"{path} ends with {frames_file.crc32 or '(none)'}: the two files are not "
                "from the same save (a save was interrupted between its two renames, or one "
                "file was copied from another recording); re-record the cassette, or restore "
                "both files from one save",
            )
        self.frames_buffer = frames_file
        return frames_file

    def check_frames_file(self) -> None:
        """The streams attached in the ``.sse`` file cover it exactly, each byte once: a
        file with other bytes is not the one this cassette was saved with."""
        frames_file = self.frames_buffer
        if frames_file is None:
            return
        covered = 0
        for start, end in sorted(frames_file.spans):
            if start != covered:
                problem = (
                    f"its streams attach bytes {start} to {end} of {frames_file.path} "
                    f"but none of them starts at byte {covered}"
                    if start > covered
                    else f"two of its streams share bytes {start} to {covered} of "
                    f"{frames_file.path}"
                )
                raise self.fail("", f"{problem}; " + _MISMATCH_ADVICE)
            covered = end
        if covered != frames_file.end:
            raise self.fail(
                "",
                f"its streams account for {covered} bytes of {frames_file.path}, "
                f"which has {frames_file.end} bytes of frames; " + _MISMATCH_ADVICE,
            )

    def raw(self, value: Any, where: str) -> bytes:
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, dict) and isinstance(value.get("base64"), str):
            return self.b64(value["base64"], where)
        raise self.fail(
            where, f'raw bytes must be a string or {{"base64": ...}}, found {_describe(value)}'
        )

    def status(self, obj: dict[str, Any], where: str) -> int:
        status: int = self.field(obj, "status", int, where)
        if not 100 <= status <= 599:
            raise self.fail(
                f"{where}.status", f"must be an HTTP status, 100 to 599, found {status}"
            )
        return status

    def check_depth(self, value: Any, where: str) -> None:
        depth = json_depth(value)
        if depth > MAX_JSON_DEPTH:
            raise self.fail(
                where,
                f"nested {depth} levels deep, deeper than the {MAX_JSON_DEPTH} streamcassette "
                'reads as JSON; store such a body as "text" instead',
            )

    def body(self, obj: dict[str, Any], where: str) -> Body | None:
        if "json" in obj:
            self.check_depth(obj["json"], f"{where}.json")
            return Body(_compact_json(obj["json"]))
        if "text" in obj:
            return Body(self.field(obj, "text", str, where).encode("utf-8"))
        if "base64" in obj:
            return Body(self.b64(self.field(obj, "base64", str, where), f"{where}.base64"))
        return None

    def b64(self, text: str, where: str) -> bytes:
        try:
            return base64.b64decode(text, validate=True)
        except ValueError as exc:
            raise self.fail(where, f"invalid base64: {exc}") from None

    def pairs(self, value: Any, where: str) -> list[tuple[str, str]]:
        if not isinstance(value, list):
            raise self.fail(
                where, f"must be a list of [name, value] pairs, found {_describe(value)}"
            )
        pairs: list[tuple[str, str]] = []
        for index, pair in enumerate(value):
            if (
                not isinstance(pair, list)
                or len(pair) != 2
                or not all(isinstance(part, str) for part in pair)
            ):
                raise self.fail(f"{where}[{index}]", f"must be [name, value], found {pair!r}")
            pairs.append((pair[0], pair[1]))
        return pairs

    def error(self, value: Any, where: str) -> RecordedError:
        return RecordedError(
            type=self.field(value, "type", str, where),
            message=self.field(value, "message", str, where),
        )


_MISMATCH_ADVICE = (
    "the two files are not from the same save (copy or commit them together), or the "
    ".sse file's line endings were converted (mark *.sse as binary in .gitattributes)"
)


_JSON_NAMES = {
    "str": "a string",
    "int": "an integer",
    "list": "a list",
    "dict": "an object",
    "int/float": "a number",
}


def _seconds_error(at: Any) -> str | None:
    """What is wrong with an attached frame's time, or None."""
    if not isinstance(at, (int, float)) or isinstance(at, bool) or at < 0:
        return f"offset must be a non-negative number of seconds, found {_describe(at)}"
    if at >= _MAX_SECONDS:
        return f"offset must be under a week ({_MAX_SECONDS:g} s), found {at!r}"
    return None


def json_depth(value: Any) -> int:
    """How deeply a JSON value nests (a scalar is 0, ``[]`` is 1), without recursion."""
    deepest = 0
    pending = [(value, 1)] if isinstance(value, (dict, list)) else []
    while pending:
        item, depth = pending.pop()
        deepest = max(deepest, depth)
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return deepest


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False) if _is_json(value) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_json(value: Any) -> bool:
    return isinstance(value, (dict, list, str, int, float, bool)) or value is None
