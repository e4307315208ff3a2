"""Masked streams: a cassette's SSE interactions as the diff, ``mask`` and ``learn`` see them.

:func:`mask_stream` masks one interaction with its own :class:`~streamcassette._alias.Masker`
(one set of aliases per stream): request line, body and headers, then every event. A stream's
events are kept column by column (``_FrameTable``), not as one object each, with frame-local
references to the values they stand for; numbered placeholders are made only when a frame is
shown (``MaskedFrame.event``, ``.data``), in stream order. The event loop reads the engine's
compiled passes directly: it is the hot path of ``diff``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import orjson

from ._alias import (
    _FIRSTS_KEPT,
    _OPEN,
    _PIECES_KEPT,
    _UNSEEN,
    Masker,
    Original,
    _numbered,
    _Piece,
    _Refs,
    _reindex,
    _SseIds,
)
from ._cassette import Cassette, Interaction, RecordedFrame, StreamEnd
from ._gc import paused_gc
from ._mask_rules import MaskRules
from ._sse import _CR, _CRLF_FRAME, _LF_FRAME, _NUL, event_fields
from .protocols import threads

__all__ = ["EventFilter", "MaskedFrame", "MaskedStream", "mask_cassette", "mask_stream"]

# Which events to mask, by name (``"message"`` for a frame with no ``event:`` line).
EventFilter = Callable[[str], bool]

_NO_KINDS: list[str] = []  # a row without values (never changed)
_NO_VALUES: list[Any] = []

# SSE id rules whose regexes match a text and its UTF-8 bytes alike (ASCII digits, dashes and
# quantifiers: the built-in ones), so that a token's id can be tested in the frame's bytes
_ASCII_ID_FORM = re.compile(r"[\[\]0-9{},+*?-]+")
# Of those, the ones that tell digits apart only from other characters (digits in ``[0-9]``
# classes and in counts, none written out): they match an id as they match it with every
# digit made a zero.
_DIGIT_BLIND_FORM = re.compile(r"(?:\[0-9\]|\{[0-9]+(?:,[0-9]*)?\}|[+*?-])+")
_DIGITS_AS_ZEROS = bytes.maketrans(b"0123456789", b"0" * 10)
_ENDS_KEPT = 1024  # frame ends remembered per (id rules, end of line)
_NUMBERED: Any = object()  # an SSE id that masks to a value of its own
_NO_SHAPES: dict[bytes, str] = {}  # a hot rest's shapes before it is set up (never written)


class _FrameEnds:
    """How a token frame ends after its data line's text: its end of line, maybe an ``id:``
    line, and the blank line, tested as one bytes regex (``fullmatch(raw, pos)``).

    ``shape(raw, stop)`` is the masked id of a frame whose text ends at ``stop``: ``None``
    (no id), a constant placeholder, or ``_NUMBERED`` (an id with a value of its own, or an
    end the regex does not match: the frame goes step by step). When the id rules are
    ``digit_blind``, an end's shape is remembered by the end with its digits made zeros
    (``by_end``): most SSE ids differ from the last one in their digits only (``<ms>-<seq>``),
    and a dict lookup is cheaper than the regex. No regex at all (every end is
    ``_NUMBERED``) when the id rules are not all ASCII forms."""

    __slots__ = ("by_end", "digit_blind", "fullmatch", "shapes")

    def __init__(self, id_rules: _SseIds, eol: bytes) -> None:
        patterns = id_rules.patterns
        self.by_end: dict[bytes, Any] = {}
        self.shapes: dict[int | None, Any] = {None: None}
        self.fullmatch: Callable[[bytes, int], re.Match[bytes] | None] | None = None
        self.digit_blind = False
        if not all(_ASCII_ID_FORM.fullmatch(pattern) for pattern in patterns):
            return
        forms = b"|".join(b"(" + pattern.encode() + b")" for pattern in patterns)
        id_line = b"(?:id: (?:" + forms + b")" + re.escape(eol) + b")?" if patterns else b""
        for group, (_, kind, numbered) in enumerate(id_rules.forms, start=1):
            if not numbered:
                self.shapes[group] = f"<{kind}>"
        self.fullmatch = re.compile(re.escape(eol) + id_line + re.escape(eol)).fullmatch
        self.digit_blind = all(_DIGIT_BLIND_FORM.fullmatch(pattern) for pattern in patterns)

    def shape(self, raw: bytes, stop: int) -> Any:
        if self.fullmatch is None:
            return _NUMBERED
        found = self.fullmatch(raw, stop)
        return _NUMBERED if found is None else self.shapes.get(found.lastindex, _NUMBERED)

    def of(self, raw: bytes, stop: int) -> Any:
        """``shape(raw, stop)``, looked up by the frame's end with its digits made zeros when
        the id rules are ``digit_blind`` (the token path inlines this)."""
        if not self.digit_blind:
            return self.shape(raw, stop)
        end = raw[stop:].translate(_DIGITS_AS_ZEROS)
        shape = self.by_end.get(end, _UNSEEN)
        return self.remember(end, raw, stop) if shape is _UNSEEN else shape

    def remember(self, end: bytes, raw: bytes, stop: int) -> Any:
        """``shape(raw, stop)``, kept for ``end`` (the frame's end, its digits made zeros)."""
        if len(self.by_end) >= _ENDS_KEPT:
            self.by_end.clear()
        shape = self.by_end[end] = self.shape(raw, stop)
        return shape


@functools.lru_cache(maxsize=64)
def _frame_end(id_rules: _SseIds, eol: bytes) -> _FrameEnds:
    """One ``_FrameEnds`` per id rules and end of line, shared by every stream masked with
    them (what it remembers depends on nothing else)."""
    return _FrameEnds(id_rules, eol)


# --- masked streams --------------------------------------------------------------------------


class _FrameTable:
    """A stream's masked events, column by column: what the diff reads.

    Row ``r`` is the ``r``-th event; ``indices[r]`` its frame's position in the recorded stream;
    ``events``, ``ids`` and ``datas`` its masked fields with frame-local references. The values
    those references stand for are kept flat: row ``r``'s are ``values[starts[r]:ends[r]]``, of
    the kinds in ``kinds`` (same positions). A row whose values are the row before's (a token
    of a message: the message's and the run's ids again) shares its slice, so they are kept
    once (and linked once by the diff). Both bounds never decrease from row to row. No
    container is made per event, so a long stream leaves the garbage collector nothing to
    traverse but a few big lists.
    """

    __slots__ = (
        "_last",
        "datas",
        "ends",
        "events",
        "ids",
        "indices",
        "kinds",
        "last_event",
        "names",
        "starts",
        "values",
    )

    def __init__(self) -> None:
        self.indices: list[int] = []
        self.names: list[str | None] = []  # event names as sent, which select modes
        self.events: list[str | None] = []
        self.ids: list[str | None] = []
        self.datas: list[str | None] = []
        self.values: list[Any] = []
        self.kinds: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        # the position of the stream's last event, compared or not (-1: none)
        self.last_event = -1
        # the last row's kinds, values and slice: a row with the same values shares it
        self._last: tuple[list[str], list[Any], int, int] = ([], [], 0, 0)

    def __len__(self) -> int:
        return len(self.datas)

    def slice_for(self, kinds: list[str], values: list[Any]) -> tuple[int, int]:
        """Where a new row's values are kept: the last row's slice when they are its values,
        else at the end (the lists are kept as they are: the caller makes new ones)."""
        last_kinds, last_values, start, end = self._last
        if values != last_values or kinds != last_kinds:
            start = len(self.values)
            self.kinds += kinds
            self.values += values
            end = len(self.values)
            self._last = (kinds, values, start, end)
        return start, end

    def key(self, row: int) -> Key:
        return (self.events[row], self.ids[row], self.datas[row])

    def row_values(self, row: int) -> list[Any]:
        return self.values[self.starts[row] : self.ends[row]]

    def row_kinds(self, row: int) -> list[str]:
        return self.kinds[self.starts[row] : self.ends[row]]


Key = tuple[str | None, str | None, str | None]  # masked (event, id, data)


class _Numbering:
    """Numbers the values of a stream's events in stream order, up to an event, when a numbered
    placeholder is first asked for (diffing equal streams never asks)."""

    __slots__ = ("done", "masker", "table")

    def __init__(self, masker: Masker, table: _FrameTable) -> None:
        self.masker = masker
        self.table = table
        self.done = 0  # rows numbered so far

    def run(self, until: int | None = None) -> None:
        """Number the values of the rows up to ``until`` (all of them: None)."""
        table = self.table
        stop = len(table) if until is None else min(until + 1, len(table))
        if stop <= self.done:
            return
        numbers, counts = self.masker._numbers, self.masker._counts
        first, last = table.starts[self.done], table.ends[stop - 1]
        # (kind, value) pairs, distinct and in order of appearance, gathered at C speed
        met = dict.fromkeys(zip(table.kinds[first:last], table.values[first:last], strict=True))
        for original in met:
            if original not in numbers:
                kind = original[0]
                numbers[original] = counts[kind] = counts.get(kind, 0) + 1
        self.done = stop


class MaskedFrame:
    """One event of a stream, masked. ``index`` is the frame's position in the recorded stream.

    ``event``, ``id``, ``data_text`` and ``data`` show numbered placeholders. What the diff
    compares is ``key`` (the masked event, id and data with frame-local references) and
    ``originals`` (the ``(kind, value)`` pairs those references stand for).
    """

    __slots__ = ("_data", "_numbering", "_row", "_shapes", "_tokens")

    def __init__(self, numbering: _Numbering, row: int) -> None:
        self._numbering = numbering
        self._row = row
        self._shapes = numbering.table.key(row)
        self._tokens: list[str] | None = None
        self._data: Any = _UNSET

    def sse_lines(self) -> list[str]:
        """The masked frame as SSE field lines (``event:``, ``data:`` per line, ``id:``)."""
        lines = [] if self.event is None else [f"event: {self.event}"]
        if self.data_text is not None:
            lines += [f"data: {line}" for line in self.data_text.split("\n")]
        if self.id is not None:
            lines.append(f"id: {self.id}")
        return lines

    @property
    def index(self) -> int:
        return self._numbering.table.indices[self._row]

    @property
    def name(self) -> str | None:
        """The event name as sent (which selects the mode)."""
        return self._numbering.table.names[self._row]

    @property
    def key(self) -> Key:
        """The masked ``(event, id, data)`` with frame-local references: what aligns frames."""
        return self._shapes

    @property
    def originals(self) -> list[Original]:
        """The ``(kind, value)`` pairs the references stand for, in reference order."""
        table = self._numbering.table
        return list(zip(table.row_kinds(self._row), table.row_values(self._row), strict=True))

    @property
    def tokens(self) -> list[str]:
        """The numbered placeholders of ``originals`` (``"<uuid:3>"``), parallel to it."""
        if self._tokens is None:
            self._numbering.run(self._row)
            self._tokens = self._numbering.masker.number(self.originals)
        return self._tokens

    @property
    def event_shape(self) -> str | None:
        """The masked event name with frame-local references."""
        return self._shapes[0]

    @property
    def id_shape(self) -> str | None:
        return self._shapes[1]

    @property
    def data_shape(self) -> str | None:
        """The masked data with frame-local references (JSON text when the data is JSON)."""
        return self._shapes[2]

    @property
    def event(self) -> str | None:
        return _numbered(self.event_shape, self.tokens)

    @property
    def id(self) -> str | None:
        return _numbered(self.id_shape, self.tokens)

    @property
    def data_text(self) -> str | None:
        return _numbered(self.data_shape, self.tokens)

    @property
    def data(self) -> Any:
        """The masked data as JSON values, or as text when it is not JSON."""
        if self._data is _UNSET:
            text = self.data_text
            try:
                self._data = orjson.loads(text) if text is not None else None
            except orjson.JSONDecodeError:
                self._data = text
        return self._data

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"frame": self.index, "event": self.event}
        if self.id_shape is not None:
            out["id"] = self.id
        out["data"] = self.data
        return out

    def __repr__(self) -> str:
        return f"MaskedFrame({self.index}, {self.event!r}, {self.data_text!r})"


_UNSET: Any = object()


class MaskedStream:
    """One SSE interaction of a cassette, masked with one set of aliases."""

    def __init__(
        self,
        *,
        interaction: int,
        method: str,
        path: str,
        body: Any,
        status: int,
        headers: list[tuple[str, str]],
        table: _FrameTable,
        masker: Masker,
        end: StreamEnd = StreamEnd.CLOSED,
        error: str | None = None,
    ) -> None:
        self.interaction = interaction  # the interaction's index in its cassette
        self.method = method
        self.path = path  # masked, with the query
        self.body = body  # the masked request body (JSON values or text), or None
        self.status = status
        self.headers = headers
        self.end = end
        self.error = error  # "RemoteProtocolError: ..." when the stream dropped
        self.masker = masker  # holds the numbering
        self._numbering = _Numbering(masker, table)
        self._frames: dict[int, MaskedFrame] = {}

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def table(self) -> _FrameTable:
        return self._numbering.table

    def __len__(self) -> int:
        return len(self.table)

    def frame(self, row: int) -> MaskedFrame:
        """The ``row``-th event (comment-only frames are not events)."""
        found = self._frames.get(row)
        if found is None:
            if not 0 <= row < len(self):
                msg = f"stream has {len(self)} events; there is no event {row}"
                raise IndexError(msg)
            found = self._frames[row] = MaskedFrame(self._numbering, row)
        return found

    @property
    def frames(self) -> list[MaskedFrame]:
        """Every event, masked."""
        return [self.frame(row) for row in range(len(self))]

    def token(self, original: Original, *, at: int | None = None) -> str:
        """The numbered placeholder of a value of this stream (first seen by row ``at``)."""
        if self.masker.known(original) is None:
            self._numbering.run(at)
        return self.masker.alias(*original)

    def text(self) -> str:
        """The masked stream as readable text, frames in SSE form (diffable with any tool)."""
        lines = [f"# interaction {self.interaction}: {self.request_line}"]
        if self.body is not None:
            body = self.body if isinstance(self.body, str) else orjson.dumps(self.body).decode()
            lines.append(f"# request body: {body}")
        lines.append(f"# status {self.status}")
        lines += [f"# {name}: {value}" for name, value in self.headers]
        lines.append("")
        for frame in self.frames:
            lines.append(f"# frame {frame.index}")
            lines += frame.sse_lines()
            lines.append("")
        ending = f"# stream end: {self.end.value}"
        if self.error:
            ending += f" ({self.error})"
        lines.append(ending)
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "interaction": self.interaction,
            "request": {"method": self.method, "path": self.path, "body": self.body},
            "status": self.status,
            "headers": [list(pair) for pair in self.headers],
            "frames": [frame.to_json() for frame in self.frames],
            "end": self.end.value,
            "error": self.error,
        }

    def __repr__(self) -> str:
        return f"<MaskedStream {self.interaction}: {self.request_line}, {len(self)} events>"


def _mask_frames(
    frames: Iterable[RecordedFrame], masker: Masker, events: EventFilter | None = None
) -> _FrameTable:
    """The events of a stream's raw frames, masked (comment-only frames are left out, and so
    are events whose name ``events`` does not select)."""
    table = _FrameTable()
    selected: dict[str | None, bool] = {}  # by event name
    selected_as_sent: dict[bytes, bool] = {}  # by the bytes of its ``event:`` line
    add_index, add_name = table.indices.append, table.names.append
    add_event, add_id, add_data = table.events.append, table.ids.append, table.datas.append
    add_start, add_end = table.starts.append, table.ends.append
    slice_for = table.slice_for
    crlf_frame, lf_frame = _CRLF_FRAME, _LF_FRAME
    refs = _Refs()
    kinds, values = refs.kinds, refs.values
    row_start = row_end = 0
    names = masker._names
    plain = masker._plain
    id_rules, ref = masker._compiled.sse_ids, refs.ref
    id_match, id_kinds = id_rules.fullmatch, id_rules.by_group
    json_text = masker._json
    structural = masker._structural
    compiled = masker._compiled
    text, always_structural = masker._text, compiled.structural
    # The hot frame: the last event whose data ``Masker._text`` masked as a first piece and a
    # rest (see there). An event that starts with the same event and ``data:`` lines and ends
    # its data with the same rest is the next token of the same message: only its first piece
    # is new, and one met before (a word) is looked up, not masked. Most of a ``messages``
    # stream's frames are such tokens: no decoding, no masking passes, and (their SSE id
    # masked to a constant) the values of the event name and the rest kept once for them all.
    hot_prefix = hot_rest = b""
    hot_head = hot_rest_length = 0  # their lengths
    hot_eol, hot_end = b"\r\n", b"\r\n\r\n"  # its end of line, and of the frame
    # the frame's end after its rest, at once (with an SSE id masked to a constant)
    ends = _frame_end(masker._compiled.sse_ids, hot_eol)
    ends_alike, ends_seen = ends.digit_blind, ends.by_end
    hot_event: str | None = None
    hot_event_shape: str | None = None
    hot_tail = ""  # the rest's shape, its references after the event name's
    hot_kinds: list[str] = []  # the values of the event name and the rest, with their kinds
    hot_values: list[Any] = []
    # first pieces as sent -> the data's shape, for the hot rest
    hot_shapes: dict[bytes, str] = {}
    # the same by the rest's piece and the values of the event name it follows (what its
    # shape is made of: cheaper to hash than the shape)
    shapes_by_rest: dict[tuple[Any, tuple[str, ...], tuple[Any, ...]], dict[bytes, str]] = {}
    # what the hot frame's rest is set up from when its first token comes: its event name,
    # the name's shape, the rest's piece, and the name's kinds and values (None: set up)
    pending: tuple[str, str | None, _Piece, list[str], list[Any]] | None = None
    hot_piece: _Piece
    # first pieces as sent -> masked: those met with no line break that mask to no value
    hot_firsts: dict[bytes, str] = {}
    last_rest: Any = None  # the masker's rest that hot_rest was taken from
    sharing: Any = None  # the hot values that the last row's slice holds
    firsts = masker._firsts
    # SSE id rules by regex group: the placeholder of one that masks to no value (_NUMBERED:
    # one that masks to a value of its own)
    constant_ids: dict[int | None, Any] = {
        group: _NUMBERED if numbered else f"<{kind}>"
        for group, (kind, numbered) in id_kinds.items()
    }
    event: str | None
    data: str | None
    event_id: str | None
    skipped = -1  # the last event the filter left out
    for index, (_, raw) in enumerate(frames):
        hot = False
        if (
            hot_rest
            and raw[:hot_head] == hot_prefix
            and (cut := raw.find(b'",', hot_head) + 2) >= 2
            and raw.startswith(hot_rest, cut)
        ):
            stop = cut + hot_rest_length
            # a token met before with this rest, or before at all (so with no line break),
            # then the frame's end with no SSE id or one masked to a constant, tested at once
            first_piece = raw[hot_head:cut]
            data_shape = hot_shapes.get(first_piece)
            if data_shape is None:
                if pending is not None:  # the first token after a new rest: set it up
                    hot_event, hot_event_shape, hot_piece, event_kinds, event_values = pending
                    pending = None
                    # the rest attached after the event name's values, as ``_text`` does
                    # after a first piece with none
                    after_event = _Refs()
                    after_event.kinds += event_kinds
                    after_event.values += event_values
                    hot_tail = hot_piece.attach(after_event)
                    hot_kinds, hot_values = after_event.kinds, after_event.values
                    rest_key = (hot_piece, tuple(event_kinds), tuple(event_values))
                    hot_shapes = shapes_by_rest.setdefault(rest_key, {})
                    if len(shapes_by_rest) > _PIECES_KEPT:
                        shapes_by_rest.clear()
                    data_shape = hot_shapes.get(first_piece)
                if data_shape is None and (masked_first := hot_firsts.get(first_piece, "")):
                    if len(hot_shapes) >= _FIRSTS_KEPT:
                        hot_shapes.clear()
                    data_shape = hot_shapes[first_piece] = masked_first + hot_tail
            if data_shape is None:
                id_shape = _NUMBERED
            elif ends_alike:  # ends.of, inlined
                frame_end = raw[stop:].translate(_DIGITS_AS_ZEROS)
                id_shape = ends_seen.get(frame_end, _UNSEEN)
                if id_shape is _UNSEEN:
                    id_shape = ends.remember(frame_end, raw, stop)
            else:
                id_shape = ends.shape(raw, stop)
            if id_shape is _NUMBERED:  # the same, step by step (a new token, any SSE id)
                head = hot_head
                end = len(raw)
                if (
                    raw.startswith(hot_eol, stop)
                    and raw.endswith(hot_end)
                    and raw.find(b"\n", head, cut) == -1
                    and raw.find(b"\r", head, cut) == -1
                ):
                    event_id = None
                    eol = len(hot_eol)
                    if stop + 2 * eol == end:
                        hot = True
                    elif (
                        raw.startswith(b"id: ", stop + eol)
                        and raw.find(b"\n", stop + eol) == end - 1 - eol
                        and raw.find(b"\r", stop + eol + 4, end - 2 * eol) == -1
                        and raw.find(b"\0", stop + eol + 4, end - 2 * eol) == -1
                    ):
                        event_id = raw[stop + eol + 4 : end - 2 * eol].decode("utf-8", "replace")
                        hot = True
                    if hot and data_shape is None:
                        masked_first = firsts.get(first_piece.decode("utf-8", "replace"), "")
                        if not masked_first:
                            hot = False
                        else:
                            if len(hot_firsts) >= _FIRSTS_KEPT:
                                hot_firsts.clear()
                            hot_firsts[first_piece] = masked_first
                            if len(hot_shapes) >= _FIRSTS_KEPT:
                                hot_shapes.clear()
                            data_shape = hot_shapes[first_piece] = masked_first + hot_tail
                if hot:
                    id_shape = None
                    if event_id is not None:
                        found = id_match(event_id) if id_match is not None else None
                        id_shape = _NUMBERED if found is None else constant_ids[found.lastindex]
            if id_shape is not _NUMBERED:  # no values but the hot ones
                if sharing is not hot_values:
                    row_start, row_end = slice_for(hot_kinds, hot_values)
                    sharing = hot_values
                add_start(row_start)
                add_end(row_end)
                add_index(index)
                add_name(hot_event)
                add_event(hot_event_shape)
                add_id(id_shape)
                add_data(data_shape)
                continue
            if hot:  # an SSE id with a value of its own (the JS server's ordinals): the usual way
                kinds += hot_kinds
                values += hot_values
                event = hot_event
                event_shape = hot_event_shape
        if not hot:
            # event_fields' fast path inlined (this is the hot loop, where a call costs ~10 %
            # of a frame that is left out), the bytes first: an event that is not compared is
            # left out before its data is decoded
            fast = False
            line_end = b"\r\n"
            lines = crlf_frame(raw)
            if lines is None:
                line_end = b"\n"
                lines = lf_frame(raw)
            if lines is not None:
                event_bytes, data_bytes, id_bytes = lines.groups()
                fast = (
                    _CR not in data_bytes
                    and _CR not in event_bytes
                    and (id_bytes is None or (_CR not in id_bytes and _NUL not in id_bytes))
                )
                if fast:
                    if events is not None:
                        wanted = selected_as_sent.get(event_bytes)
                        if wanted is None:
                            name = event_bytes.decode("utf-8", "replace") or "message"
                            wanted = selected_as_sent[event_bytes] = events(name)
                        if not wanted:
                            skipped = index
                            continue
                    event = event_bytes.decode("utf-8", "replace")
                    data = data_bytes.decode("utf-8", "replace")
                    event_id = None if id_bytes is None else id_bytes.decode("utf-8", "replace")
                    data_start, data_end = lines.span(2)
            if not fast:
                fields = event_fields(raw)
                if fields is None:
                    continue
                event, data, event_id = fields
                if events is not None:
                    wanted = selected.get(event)
                    if wanted is None:
                        wanted = selected[event] = events(event or "message")
                    if not wanted:
                        skipped = index
                        continue
            event_shape = event
            if event is not None:
                event_shape = names.get(event)
                if event_shape is None:
                    event_shape = plain(event, refs)
                    if not values:
                        names[event] = event_shape
            in_event = len(values)  # the values of the event name
            data_shape = data
            if data is not None:  # Masker._json, unrolled
                if always_structural or _OPEN in data:
                    data_shape = json_text(data, refs)
                else:
                    mark = len(values)
                    masked = text(data, refs)
                    if refs.structural:  # a key rule met an object, or a path rule or user regex
                        refs.truncate(mark)  # may match: start again on the parsed JSON
                        refs.structural = True
                        masked = structural(data, refs)
                    data_shape = masked
            if masker._last_rest is not last_rest:
                # kept in step after every frame that changes it: a change is this frame's
                # (its own text cut, not a text an earlier frame left there; with rules that
                # make every frame structural, ``_text`` never runs and nothing changes)
                last_rest = masker._last_rest
                if (
                    fast and data is not None and event is not None and not refs.structural
                ):  # a new rest: the next frames may be tokens after this one
                    rest_text, piece = last_rest
                    rest_bytes = b""
                    if isinstance(piece, _Piece) and rest_text:
                        if len(data_bytes) == len(data):
                            # a character a byte (ASCII): ``_text`` cut this frame's data (the
                            # text it masks, as it holds no \x91) where its bytes are cut
                            rest_bytes = raw[data_end - len(rest_text) : data_end]
                        else:
                            encoded = rest_text.encode("utf-8", "surrogatepass")
                            if raw.endswith(encoded, 0, data_end) and raw.find(
                                b'",', data_start
                            ) + 2 == data_end - len(encoded):
                                rest_bytes = encoded
                    if rest_bytes:
                        hot_prefix, hot_rest = raw[:data_start], rest_bytes
                        hot_head, hot_rest_length = data_start, len(rest_bytes)
                        if line_end != hot_eol:
                            hot_eol = line_end
                            hot_end = hot_eol * 2
                            ends = _frame_end(id_rules, hot_eol)
                            ends_alike, ends_seen = ends.digit_blind, ends.by_end
                        # set up when a token comes (most new rests have none: a tool call's
                        # chunk, a tool message)
                        pending = (event, event_shape, piece, kinds[:in_event], values[:in_event])
                        hot_shapes = _NO_SHAPES
                    else:
                        hot_rest = b""
        id_shape = None
        if event_id is not None:
            id_shape = _NUMBERED
            if not hot and fast and line_end == hot_eol:  # as a token's end is
                id_shape = ends.of(raw, data_end)
            if id_shape is _NUMBERED:  # Masker._sse_id, unrolled
                found = id_match(event_id) if id_match is not None else None
                if found is not None:
                    id_shape = constant_ids[found.lastindex]
                    if id_shape is _NUMBERED:
                        kind, numbered = id_kinds[found.lastindex]
                        id_shape = ref(kind, event_id, numbered)
                elif id_match is None and (rule := id_rules.rule(event_id)) is not None:
                    id_shape = ref(rule[0], event_id, rule[1])
                else:
                    id_shape = plain(event_id, refs)
        if values:
            if refs.structural:  # references a path rule masked away: drop them
                (event_shape, data_shape, id_shape), kinds, values = _reindex(
                    (event_shape, data_shape, id_shape), kinds, values
                )
            row_start, row_end = slice_for(kinds, values)
            # new lists for the next row (the last row's are kept to compare with)
            kinds = refs.kinds = []
            values = refs.values = []
            if refs.local is not None:
                refs.local = None
        else:  # an empty slice (not refs' lists, which the next row fills)
            row_start, row_end = slice_for(_NO_KINDS, _NO_VALUES)
        refs.structural = False
        add_start(row_start)
        add_end(row_end)
        add_index(index)
        add_name(event)
        add_event(event_shape)
        add_id(id_shape)
        add_data(data_shape)
        sharing = None
    table.last_event = max(skipped, table.indices[-1] if table.indices else -1)
    return table


def mask_stream(
    interaction: Interaction,
    rules: MaskRules | None = None,
    *,
    index: int = 0,
    events: EventFilter | None = None,
) -> MaskedStream:
    """One SSE interaction masked with its own aliases: request, headers, then frames (only
    the events whose name ``events`` selects, when given: what is not compared is not
    masked, and placeholders are numbered over the selected events)."""
    response = interaction.response
    if response is None or response.stream is None:
        msg = f"interaction {index} ({interaction.request.describe()}) is not an SSE stream"
        raise ValueError(msg)
    request = interaction.request
    if not threads.is_protocol_request(request.method, request.path):
        rules = (rules if rules is not None else MaskRules.default()).for_runs_streams()
    masker = Masker(rules)
    path = request.path
    if request.query:
        path += "?" + "&".join(f"{key}={value}" for key, value in request.query)
    masked_path = masker.mask_text(path)
    body: Any = None
    if request.body is not None and request.body.content:
        try:
            text = request.body.content.decode("utf-8")
        except UnicodeDecodeError:
            body = f"<{len(request.body.content)} bytes of binary data>"
        else:
            masked = masker.mask_json(text)
            try:
                body = orjson.loads(masked)
            except orjson.JSONDecodeError:
                body = masked
    headers = masker.mask_headers(response.headers)
    stream = response.stream
    error = f"{stream.error.type}: {stream.error.message}" if stream.error is not None else None
    return MaskedStream(
        interaction=index,
        method=request.method,
        path=masked_path,
        body=body,
        status=response.status,
        headers=headers,
        table=_mask_frames(stream.frames, masker, events),
        masker=masker,
        end=stream.end,
        error=error,
    )


def mask_cassette(
    cassette: Cassette, rules: MaskRules | None = None, *, events: EventFilter | None = None
) -> list[MaskedStream]:
    """Every SSE interaction of a cassette, masked; aliases are consistent within each stream.
    ``events`` selects the events to mask by name (see :func:`mask_stream`). A v3 event
    stream recorded over WebSocket is masked as the SSE stream it stands for."""
    with paused_gc():
        return [
            mask_stream(stream, rules, index=index, events=events)
            for index, stream in _event_streams(cassette)
        ]


def _event_streams(cassette: Cassette) -> Iterator[tuple[int, Interaction]]:
    for index, interaction in enumerate(cassette.interactions):
        if interaction.is_stream:
            yield index, interaction
        elif (as_sse := threads.as_event_stream(interaction)) is not None:
            yield index, as_sse
