"""Stream diff: what an agent did differently, reported in LangGraph terms.

Streams pair up by order (the nth SSE interaction of one cassette with the nth of the other).
Within a pair, the frames of each compared mode are aligned as a sequence first, on their
masked form, so that a node that ran in one stream only, an extra frame or a changed order is
reported as such rather than as a cascade of field differences. Only frames that align but
differ are explained field by field, with DeepDiff.

Masked frames are compared with frame-local references to placeholders (see ``_alias``), so a
frame's key does not depend on how the stream's numbering went; the links between frames (the
same id in two places) are then checked as a one-to-one correspondence between the recorded
and the live placeholders. An extra node that shifts every later ``<uuid:n>`` is one difference,
and a tool message whose ``tool_call_id`` no longer names the AI message's tool call is another.

Modes are aligned separately: a server interleaves the frames of different modes (``events``
and ``messages``) differently from run to run.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from fnmatch import fnmatchcase
from itertools import chain, compress
from operator import itemgetter, ne, sub
from typing import Any, Literal

import orjson

from ._alias import _CLOSE, _OPEN, Original, _numbered, _reindex
from ._cassette import Cassette, StreamEnd
from ._field_changes import field_changes
from ._gc import paused_gc
from ._mask_rules import MaskRules
from ._masked import MaskedFrame, MaskedStream, mask_cassette
from ._match import json_difference
from .protocols import runs, threads

__all__ = [
    "KNOWN_MODES",
    "Change",
    "DiffReport",
    "Difference",
    "Policy",
    "StreamComparison",
    "diff_cassettes",
    "diff_streams",
]

Policy = Literal["exact", "structure"]
POLICIES: tuple[Policy, ...] = ("exact", "structure")
KNOWN_MODES = (
    "values",
    "updates",
    "messages",
    "messages-tuple",
    "custom",
    "debug",
    "events",
    "tasks",
    "checkpoints",
    "metadata",
    "error",
    # The v3 thread protocol's channels that are not runs-stream modes (its events are
    # named after their channel: ``lifecycle``, ``input.requested``, ``tools``, ...).
    "lifecycle",
    "input",
    "tools",
)
DifferenceKind = Literal[
    "stream_missing",
    "stream_extra",
    "request",
    "status",
    "end",
    "frame_removed",
    "frame_added",
    "frame_moved",
    "frame_changed",
]
ChangeKind = Literal["changed", "added", "removed"]

_MAX_CHANGES = 20  # per frame, in the text report
_ALIAS = re.compile(f"(?:{_OPEN}[0-9]+{_CLOSE}|<[A-Za-z_][A-Za-z0-9_.-]*:[0-9]+>)\\Z")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One field that differs inside frames that align; values are masked."""

    path: str  # "messages[0].tool_calls[0].args.query"
    change: ChangeKind
    recorded: Any = None
    live: Any = None
    note: str | None = None  # e.g. why a placeholder differs: a broken link
    # the path from the root of the frame's data (None: the event name, the SSE id)
    parts: tuple[str | int, ...] | None = None

    def describe(self, color: bool = False) -> str:
        old = _paint(_clip(self.recorded), _RED, color)
        new = _paint(_clip(self.live), _GREEN, color)
        if self.change == "added":
            text = f"{self.path}: added {new}"
        elif self.change == "removed":
            text = f"{self.path}: removed {old}"
        else:
            text = f"{self.path}: {old} -> {new}"
        return f"{text} ({self.note})" if self.note else text

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "change": self.change}
        if self.change != "added":
            out["recorded"] = self.recorded
        if self.change != "removed":
            out["live"] = self.live
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Difference:
    """One thing that differs between a recorded and a live stream."""

    kind: DifferenceKind
    stream: int
    message: str  # one line, in LangGraph terms
    mode: str | None = None
    recorded_frame: int | None = None
    live_frame: int | None = None
    label: str | None = None  # "node 'agent'", "state values", ...
    changes: tuple[Change, ...] = ()

    def lines(self, color: bool = False) -> list[str]:
        if not self.changes:
            return [self.message]
        if len(self.changes) == 1:
            return [f"{self.message}: {self.changes[0].describe(color)}"]
        shown = [f"    {change.describe(color)}" for change in self.changes[:_MAX_CHANGES]]
        if len(self.changes) > _MAX_CHANGES:
            shown.append(f"    ... and {len(self.changes) - _MAX_CHANGES} more changes")
        return [f"{self.message}:", *shown]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "message": self.message}
        for name in ("mode", "recorded_frame", "live_frame", "label"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.changes:
            out["changes"] = [change.to_json() for change in self.changes]
        return out


@dataclass
class StreamComparison:
    """The differences found in one pair of streams."""

    stream: int
    recorded: MaskedStream | None
    live: MaskedStream | None
    differences: list[Difference] = field(default_factory=list)
    compared_frames: int = 0  # recorded frames of the compared modes
    # frames one side streamed after the other side's client closed its stream: not compared
    unheard_frames: int = 0

    @property
    def equal(self) -> bool:
        return not self.differences

    @property
    def request_line(self) -> str:
        masked = self.recorded or self.live
        return masked.request_line if masked is not None else "?"

    def to_json(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "request": self.request_line,
            "recorded_interaction": self.recorded.interaction if self.recorded else None,
            "live_interaction": self.live.interaction if self.live else None,
            "compared_frames": self.compared_frames,
            "unheard_frames": self.unheard_frames,
            "equal": self.equal,
            "differences": [difference.to_json() for difference in self.differences],
        }


class DiffReport:
    """What differs between recorded and live streams after masking; ``equal`` when nothing."""

    def __init__(
        self,
        streams: list[StreamComparison],
        *,
        modes: Sequence[str],
        policy: Policy,
        recorded_name: str = "recorded",
        live_name: str = "live",
    ) -> None:
        self.streams = streams
        self.modes = tuple(modes)
        self.policy = policy
        self.recorded_name = recorded_name
        self.live_name = live_name

    @property
    def equal(self) -> bool:
        return all(stream.equal for stream in self.streams)

    @property
    def differences(self) -> list[Difference]:
        return [difference for stream in self.streams for difference in stream.differences]

    def __bool__(self) -> bool:
        msg = "use report.equal (a report is neither true nor false)"
        raise TypeError(msg)

    def summary(self) -> str:
        settings = f"modes: {', '.join(self.modes)}; policy: {self.policy}"
        compared = sum(stream.compared_frames for stream in self.streams)
        streams = _plural(len(self.streams), "stream")
        unheard = sum(stream.unheard_frames for stream in self.streams)
        if unheard:
            settings += f"; {_plural(unheard, 'frame')} after a client stopped reading not compared"
        if self.equal:
            frames = _plural(compared, "frame")
            return f"equal after masking: {streams}, {frames} compared ({settings})"
        differing = sum(1 for stream in self.streams if not stream.equal)
        count = _plural(len(self.differences), "difference")
        return f"{count} in {differing} of {len(self.streams)} streams ({settings})"

    def render_text(self, *, color: bool = False) -> str:
        header = f"{self.recorded_name} -> {self.live_name}: {self.summary()}"
        lines = [_paint(header, _BOLD, color)]
        for stream in self.streams:
            if stream.equal:
                continue
            lines.append("")
            title = f"stream {stream.stream}: {stream.request_line}"
            lines.append(_paint(title, _BOLD, color))
            for difference in stream.differences:
                lines += [f"  {line}" for line in difference.lines(color)]
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "equal": self.equal,
            "recorded": self.recorded_name,
            "live": self.live_name,
            "modes": list(self.modes),
            "policy": self.policy,
            "summary": self.summary(),
            "streams": [stream.to_json() for stream in self.streams],
        }

    def __repr__(self) -> str:
        return f"<DiffReport {self.summary()}>"


_RED, _GREEN, _BOLD = "\x1b[31m", "\x1b[32m", "\x1b[1m"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}\x1b[0m" if color else text


def _clip(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 100 else text[:97] + "..."


# --- entry points ----------------------------------------------------------------------------


def diff_cassettes(
    recorded: Cassette,
    live: Cassette,
    *,
    modes: Sequence[str] = ("updates",),
    policy: Policy = "exact",
    rules: MaskRules | None = None,
) -> DiffReport:
    """Compare the SSE streams of two cassettes after masking; streams pair up by order.

    ``modes`` names the event types compared (``updates``, ``values``, ``messages-tuple``,
    ...; a mode takes its subgraph events along, and a glob such as ``"updates|node_2:*"``
    selects events by name); ``error`` events are always compared. ``policy="structure"``
    compares what an agent did (nodes in order, state keys, message types, tool calls and their
    arguments) but not free text, for nodes driven by a real LLM.
    """
    _check(modes, policy)
    with paused_gc():
        return _diff_cassettes(recorded, live, modes, policy, rules)


def _diff_cassettes(
    recorded: Cassette,
    live: Cassette,
    modes: Sequence[str],
    policy: Policy,
    rules: MaskRules | None,
) -> DiffReport:
    selectors = [_selector(mode) for mode in dict.fromkeys([*modes, "error"])]

    def compared(name: str) -> bool:
        return any(selected(name) for selected in selectors)

    recorded_streams = mask_cassette(recorded, rules, events=compared)  # only what is compared
    live_streams = mask_cassette(live, rules, events=compared)
    comparisons: list[StreamComparison] = []
    for number in range(max(len(recorded_streams), len(live_streams))):
        ours = recorded_streams[number] if number < len(recorded_streams) else None
        theirs = live_streams[number] if number < len(live_streams) else None
        if ours is not None and theirs is not None:
            comparisons.append(
                diff_streams(ours, theirs, modes=modes, policy=policy, stream=number)
            )
            continue
        present = ours or theirs
        assert present is not None
        where = "in the recording but not live" if ours else "live but not in the recording"
        kind: DifferenceKind = "stream_missing" if ours else "stream_extra"
        message = f"stream {number} ({present.request_line}) is {where}"
        comparison = StreamComparison(number, ours, theirs, [Difference(kind, number, message)])
        comparisons.append(comparison)
    return DiffReport(
        comparisons,
        modes=modes,
        policy=policy,
        recorded_name=recorded.name,
        live_name=live.name,
    )


def _check(modes: Sequence[str], policy: str) -> None:
    if policy not in POLICIES:
        msg = f"policy must be one of {', '.join(POLICIES)}; got {policy!r}"
        raise ValueError(msg)
    if isinstance(modes, str):
        msg = f"modes takes a list of modes, not the string {modes!r}; write [{modes!r}]"
        raise TypeError(msg)
    if not modes:
        msg = "modes is empty: name at least one stream mode to compare, e.g. ['updates']"
        raise ValueError(msg)
    for mode in modes:
        if mode not in KNOWN_MODES and not any(char in mode for char in "*?[|"):
            msg = (
                f"unknown stream mode {mode!r}; known modes: {', '.join(KNOWN_MODES)} "
                "(or an event-name glob such as 'updates|node_2:*')"
            )
            raise ValueError(msg)


def _selector(mode: str) -> Callable[[str], bool]:
    if any(char in mode for char in "*?[|"):
        return lambda name: fnmatchcase(name, mode)
    if mode == "messages":
        return lambda name: (
            (base := name.partition("|")[0]) == "messages" or base.startswith("messages/")
        )
    if mode == "input":  # the v3 channel whose events are ``input.requested``
        return lambda name: name.partition("|")[0] in ("input", "input.requested")
    wanted = "messages" if mode == "messages-tuple" else mode
    return lambda name: name.partition("|")[0] == wanted


def diff_streams(
    recorded: MaskedStream,
    live: MaskedStream,
    *,
    modes: Sequence[str] = ("updates",),
    policy: Policy = "exact",
    stream: int = 0,
) -> StreamComparison:
    """Compare two masked streams (see :func:`diff_cassettes`)."""
    _check(modes, policy)
    comparison = StreamComparison(stream, recorded, live)
    found = comparison.differences
    found += _request_differences(recorded, live, stream)

    selectors = [_selector(mode) for mode in dict.fromkeys([*modes, "error"])]
    recorded_rows = _group(recorded, selectors)
    live_rows = _group(live, selectors)
    links = _Links(recorded, live)
    frame_differences: list[Difference] = []
    groups: list[_Group] = []
    for mode, namespace in sorted(recorded_rows.keys() | live_rows.keys()):
        ours = recorded_rows.get((mode, namespace), [])
        theirs = live_rows.get((mode, namespace), [])
        comparison.compared_frames += len(ours)
        if policy == "structure":
            collapse = mode in ("messages", "messages-tuple")
            views = (
                _structure_views(recorded, ours, collapse),
                _structure_views(live, theirs, collapse),
            )
        else:
            views = _exact_views(recorded, ours), _exact_views(live, theirs)
        group = _Group(mode, *views, stream, links)
        frame_differences += group.compare()
        groups.append(group)
    unheard = _unheard(recorded, live, links)
    if unheard is not None:
        heard = [difference for difference in frame_differences if not unheard(difference)]
        comparison.unheard_frames = len(frame_differences) - len(heard)
        frame_differences = heard
    frame_differences += links.check(stream)  # the links of the frames that align, first
    for group in groups:
        frame_differences += group.explain()
    frame_differences.sort(key=_frame_order)
    found += frame_differences
    if recorded.end != live.end:
        ours_end = recorded.end.value + (f" ({recorded.error})" if recorded.error else "")
        theirs_end = live.end.value + (f" ({live.error})" if live.error else "")
        message = f"the stream ended {ours_end} in the recording but {theirs_end} live"
        found.append(Difference("end", stream, message))
    return comparison


def _unheard(
    recorded: MaskedStream, live: MaskedStream, links: _Links
) -> Callable[[Difference], bool] | None:
    """Which one-sided frames came after the other side's client closed its stream: a
    recording holds what its client read, so what came after says nothing about the other
    run. (A v3 session closes its subscriptions as it ends, some a moment before the run's
    last ``lifecycle`` event reaches them.) ``None`` when neither client stopped early."""
    recorded_heard = _heard_until(recorded, links, recorded=True)
    live_heard = _heard_until(live, links, recorded=False)
    if recorded_heard is None and live_heard is None:
        return None

    def unheard(difference: Difference) -> bool:
        if difference.kind == "frame_added" and recorded_heard is not None:
            return (difference.live_frame or 0) > recorded_heard
        if difference.kind == "frame_removed" and live_heard is not None:
            return (difference.recorded_frame or 0) > live_heard
        return False

    return unheard


def _heard_until(stream: MaskedStream, links: _Links, *, recorded: bool) -> int | None:
    """For a stream whose client closed it, when its last event was compared and aligned with
    an equal one: that one's frame on the other side, past which the client heard nothing."""
    table = stream.table
    if stream.end is not StreamEnd.CLIENT_STOPPED or not len(table):
        return None
    last = len(table) - 1
    if table.indices[last] != table.last_event:
        return None  # it read events after the last compared one: where they fall is unknown
    for ours, start, theirs, their_start, length in links.runs:
        mine, first, yours, other_first = (
            (ours, start, theirs, their_start) if recorded else (theirs, their_start, ours, start)
        )
        position = bisect_left(mine.rows, last, first, first + length)
        if position < first + length and mine.rows[position] == last:
            other = yours.stream.table
            return other.indices[yours.rows[other_first + position - first]]
    return None


def _frame_order(difference: Difference) -> tuple[int, int]:
    if difference.recorded_frame is not None:
        return (difference.recorded_frame, 0)
    return (difference.live_frame or 0, 1)


def _group(
    stream: MaskedStream, selectors: Sequence[Callable[[str], bool]]
) -> dict[tuple[str, tuple[str, ...]], list[int]]:
    """The selected rows, by stream mode and namespace: each mode of each subgraph is aligned
    on its own, because a server interleaves the events of different modes (``events``,
    ``messages``) and of different subgraphs differently each run, and an extra event in a
    subgraph must not shift its parent's. A runs stream names the namespace in the event
    (``updates|child:<task>``), a v3 thread stream in the event's ``params``; either way
    the namespace is its nodes without task ids (``("child",)``; the root is ``()``)."""
    names = stream.table.names

    def modes(distinct: Iterable[str | None]) -> dict[str | None, str]:
        """The stream mode of each selected event name."""
        return {
            name: _stream_mode(name)
            for name in distinct
            if any(selected(name or "message") for selected in selectors)
        }

    groups: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    if _is_thread_stream(stream):
        chosen = modes(set(names))
        datas = stream.table.datas
        for row, name in enumerate(names):
            mode = chosen.get(name)
            if mode is not None:
                groups.setdefault((mode, threads.namespace_in(datas[row])), []).append(row)
        return groups
    rows_by_name: dict[str | None, list[int]] = {}  # in one pass, not one per name
    for row, name in enumerate(names):
        found = rows_by_name.get(name)
        if found is None:
            found = rows_by_name[name] = []
        found.append(row)
    wanted: dict[tuple[str, tuple[str, ...]], list[str | None]] = {}
    for name, mode in modes(rows_by_name).items():
        wanted.setdefault((mode, runs.namespace_of(name or "message")), []).append(name)
    for key, these in wanted.items():
        if len(these) == 1:  # the usual case
            groups[key] = rows_by_name[these[0]]
        else:
            groups[key] = sorted(chain.from_iterable(rows_by_name[name] for name in these))
    return groups


def _is_thread_stream(stream: MaskedStream) -> bool:
    """Whether a stream is a v3 thread stream (``…/stream/events``), over SSE or WebSocket."""
    return threads.EVENTS_PATH.match(stream.path.partition("?")[0]) is not None


def _stream_mode(name: str | None) -> str:
    """The stream mode an event belongs to: ``updates|node_2:...`` and ``updates`` are both
    ``updates``; ``messages/partial`` is ``messages``."""
    base = (name or "message").partition("|")[0]
    return base.partition("/")[0]


def _request_differences(
    recorded: MaskedStream, live: MaskedStream, stream: int
) -> list[Difference]:
    found: list[Difference] = []
    if recorded.request_line != live.request_line:
        message = f"the requests differ: {recorded.request_line} -> {live.request_line}"
        found.append(Difference("request", stream, message))
    elif recorded.body != live.body:
        detail = json_difference(recorded.body, live.body) or f"{recorded.body!r} -> {live.body!r}"
        found.append(Difference("request", stream, f"the request bodies differ: {detail}"))
    if recorded.status != live.status:
        message = f"status {recorded.status} in the recording, {live.status} live"
        found.append(Difference("status", stream, message))
    return found


# --- one mode of one stream as a policy sees it ----------------------------------------------


class _Views:
    """The events of one mode of one stream as a policy sees them: their rows, the key columns
    that align them, and the values they link. Under ``exact`` the columns are the masked
    event, id and data and the values are the stream's own; under ``structure`` there is one
    column, the projection, and the values it keeps."""

    __slots__ = ("_kinds", "_values", "columns", "projected", "rows", "stream")

    def __init__(
        self,
        stream: MaskedStream,
        rows: list[int],
        columns: tuple[list[Any], ...],
        kinds: list[Sequence[str]] | None = None,
        values: list[Sequence[Any]] | None = None,
    ) -> None:
        self.stream = stream
        self.rows = rows
        self.columns = columns
        self._kinds = kinds  # None: the stream's own
        self._values = values
        self.projected = values is not None

    def __len__(self) -> int:
        return len(self.rows)

    def frame(self, position: int) -> MaskedFrame:
        return self.stream.frame(self.rows[position])

    def key(self, position: int) -> tuple[Any, ...]:
        return tuple(column[position] for column in self.columns)

    def keys(self, start: int, stop: int) -> list[tuple[Any, ...]]:
        return list(zip(*(column[start:stop] for column in self.columns), strict=True))

    def values_at(self, position: int) -> Sequence[Any]:
        if self._values is not None:
            return self._values[position]
        return self.stream.table.row_values(self.rows[position])

    def kinds_at(self, position: int) -> Sequence[str]:
        if self._kinds is not None:
            return self._kinds[position]
        return self.stream.table.row_kinds(self.rows[position])

    def values_of(self, start: int, stop: int) -> list[Any]:
        """The values of positions ``start`` to ``stop`` of a projected view, one flat list."""
        assert self._values is not None
        return list(chain.from_iterable(self._values[start:stop]))

    def bounds(self, start: int, stop: int) -> tuple[Sequence[int], Sequence[int]]:
        """Where the values of positions ``start`` to ``stop`` are in the stream's flat values:
        the starts and the ends, per position (rows that share their values share their
        bounds)."""
        rows, table = self.rows, self.stream.table
        if stop <= start:
            return (), ()
        first, last = rows[start], rows[stop - 1]
        if last - first == stop - 1 - start:  # consecutive rows: slices
            return table.starts[first : last + 1], table.ends[first : last + 1]
        chosen = _picker(rows[start:stop])
        return chosen(table.starts), chosen(table.ends)


def _exact_views(stream: MaskedStream, rows: list[int]) -> _Views:
    table = stream.table
    columns = (table.events, table.ids, table.datas)
    if len(rows) == len(table):  # every event is of this mode
        return _Views(stream, rows, columns)
    if rows and rows[-1] - rows[0] + 1 == len(rows):  # one run of events: slices
        run = slice(rows[0], rows[-1] + 1)
        return _Views(stream, rows, tuple(column[run] for column in columns))
    chosen = _picker(rows)
    return _Views(stream, rows, tuple(chosen(column) for column in columns))


def _picker(rows: list[int]) -> Callable[[Sequence[Any]], list[Any]]:
    """What picks the items at ``rows`` of a sequence, as a list (as a column's slice is,
    so that the two compare), at C speed."""
    if len(rows) < 2:
        return lambda items: [items[row] for row in rows]
    pick = itemgetter(*rows)
    return lambda items: list(pick(items))


def _structure_views(stream: MaskedStream, rows: list[int], collapse: bool) -> _Views:
    kept_rows: list[int] = []
    keys: list[str] = []
    kinds: list[Sequence[str]] = []
    values: list[Sequence[Any]] = []
    table = stream.table
    for row in rows:
        shape = table.datas[row]
        try:
            data = orjson.loads(shape) if shape is not None else None
        except orjson.JSONDecodeError:
            data = "<text>"
        projected = orjson.dumps(_project(data)).decode()
        (event, kept), kept_kinds, kept_values = _reindex(
            (table.events[row], projected), table.row_kinds(row), table.row_values(row)
        )
        key = f"{event}\n{kept}"
        if collapse and keys and keys[-1] == key:
            continue  # a stream of tokens: its length varies with the model's wording
        kept_rows.append(row)
        keys.append(key)
        kinds.append(kept_kinds)
        values.append(kept_values)
    return _Views(stream, kept_rows, (keys,), kinds, values)


_MESSAGE_TYPES = frozenset(
    {"human", "ai", "tool", "system", "function", "chat", "remove", "developer"}
)
# Strings kept under structure: names and enums, not free text.
_KEEP_TEXT = frozenset({"type", "name", "event", "status", "langgraph_node", "error"})


def _project(value: Any, key: str | None = None) -> Any:
    """What ``structure`` compares: keys, message types, tool calls and their arguments,
    placeholders (links), numbers and booleans; free text becomes ``"<text>"``."""
    if isinstance(value, dict):
        kind = value.get("type")
        if isinstance(kind, str) and "content" in value:
            if kind in _MESSAGE_TYPES:
                return _project_message(value)
            if kind.endswith("MessageChunk"):
                return {"type": kind}  # partial tool calls vary with the tokenisation
        return {k: _project(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_project(item) for item in value]
    if isinstance(value, str):
        if key in _KEEP_TEXT or _ALIAS.match(value):
            return value
        return "<text>"
    return value


def _project_message(message: dict[str, Any]) -> dict[str, Any]:
    projected: dict[str, Any] = {"type": message["type"]}
    if message["type"] == "tool":
        projected["name"] = message.get("name")
        projected["tool_call_id"] = message.get("tool_call_id")
        projected["status"] = message.get("status")
    calls = message.get("tool_calls")
    if calls:
        projected["tool_calls"] = [
            {"name": call.get("name"), "args": call.get("args"), "id": call.get("id")}
            if isinstance(call, dict)
            else call
            for call in calls
        ]
    return projected


# --- links between frames --------------------------------------------------------------------


class _Links:
    """The one-to-one correspondence between recorded and live values.

    Built from the events that align with equal keys, in recorded order: the first pair that
    puts a recorded value opposite a live one links them; a later pair that puts either opposite
    anything else is a broken link.
    """

    def __init__(self, recorded: MaskedStream, live: MaskedStream) -> None:
        self.recorded = recorded
        self.live = live
        self.forward: dict[Any, Any] = {}  # recorded value -> live value
        self.backward: dict[Any, Any] = {}  # live value -> recorded value
        # aligned runs: (recorded views, first position, live views, first position, length)
        self.runs: list[tuple[_Views, int, _Views, int, int]] = []
        self._first_seen: tuple[dict[Any, int], dict[Any, int]] | None = None

    def add(self, ours: _Views, start: int, theirs: _Views, their_start: int, length: int) -> None:
        if length:
            self.runs.append((ours, start, theirs, their_start, length))

    def _pairs(self) -> Iterable[tuple[_Views, int, _Views, int]]:
        """Every aligned pair, in recorded order."""
        pairs = [
            (ours.rows[start + offset], ours, start + offset, theirs, their_start + offset)
            for ours, start, theirs, their_start, length in self.runs
            for offset in range(length)
        ]
        pairs.sort(key=lambda pair: pair[0])
        for _row, ours, position, theirs, their_position in pairs:
            yield ours, position, theirs, their_position

    def check(self, stream: int) -> list[Difference]:
        if self._consistent():
            return []
        forward, backward = self.forward, self.backward
        broken: list[tuple[_Views, int, _Views, int]] = []
        for ours, position, theirs, their_position in self._pairs():
            pair = zip(ours.values_at(position), theirs.values_at(their_position), strict=False)
            for mine, yours in pair:
                linked = forward.get(mine)
                if linked is None:
                    back = backward.get(yours)
                    if back is None:
                        forward[mine] = yours
                        backward[yours] = mine
                        continue
                    if back == mine:
                        continue
                elif linked == yours:
                    continue
                broken.append((ours, position, theirs, their_position))
                break
        return [self._broken(*pair, stream) for pair in broken]

    def _consistent(self) -> bool:
        """Whether all aligned pairs link values one to one, checked with whole-list operations
        (C speed); then the links are recorded at once. When not, ``check`` walks the pairs to
        find where."""
        ours: list[Any] = []
        theirs: list[Any] = []
        # the distinct pairs of value slices that aligned rows put opposite each other, as
        # (start, end, their start, their end): the tokens of a message share one slice, so a
        # message's ids are linked once
        pairs: dict[tuple[int, int, int, int], None] = {}
        for mine, start, yours, their_start, length in self.runs:
            if mine.projected or yours.projected:
                ours += mine.values_of(start, start + length)
                theirs += yours.values_of(their_start, their_start + length)
            else:
                bounds = mine.bounds(start, start + length)
                pairs.update(
                    dict.fromkeys(
                        zip(*bounds, *yours.bounds(their_start, their_start + length), strict=True)
                    )
                )
        if len(ours) != len(theirs):
            return False
        if pairs:
            firsts, ends, their_firsts, their_ends = zip(*pairs, strict=True)
            if list(map(sub, ends, firsts)) != list(map(sub, their_ends, their_firsts)):
                return False  # as many values on each side, or no one-to-one links
            recorded_values, live_values = self.recorded.table.values, self.live.table.values
            ours += chain.from_iterable(map(recorded_values.__getitem__, map(slice, firsts, ends)))
            theirs += chain.from_iterable(
                map(live_values.__getitem__, map(slice, their_firsts, their_ends))
            )
        forward = dict(zip(ours, theirs, strict=True))  # each value's last partner
        if list(map(forward.__getitem__, ours)) != theirs:
            return False  # a recorded value met two live values
        backward = dict(zip(theirs, ours, strict=True))
        if list(map(backward.__getitem__, theirs)) != ours:
            return False  # a live value met two recorded values
        self.forward, self.backward = forward, backward
        return True

    def pair_new(self, ours: MaskedFrame, theirs: MaskedFrame) -> None:
        """Link the values that two aligned, changed frames introduce, kind by kind in order,
        when both introduce as many of a kind (so the report compares like with like)."""
        mine = _by_kind(o for o in ours.originals if o[1] not in self.forward)
        yours = _by_kind(o for o in theirs.originals if o[1] not in self.backward)
        for kind, new in mine.items():
            other = yours.get(kind, [])
            if len(other) == len(new):
                for a, b in zip(new, other, strict=False):
                    self.forward[a] = b
                    self.backward[b] = a

    def translate(self, frame: MaskedFrame) -> list[str]:
        """A live frame's placeholders numbered as the recording's, where the values are linked;
        a live value with no recorded counterpart is numbered as live numbers it."""
        recorded, live = self.recorded, self.live
        tokens = []
        for kind, value in frame.originals:
            linked = self.backward.get(value)
            if linked is not None:
                tokens.append(recorded.token((kind, linked)))
            else:
                number = live.token((kind, value), at=frame.index).rpartition(":")[2]
                tokens.append(f"<{kind}:live-{number}")
        return tokens

    def _broken(
        self, ours: _Views, position: int, theirs: _Views, their_position: int, stream: int
    ) -> Difference:
        if self._first_seen is None:
            self._first_seen = (_first_seen(self.recorded), _first_seen(self.live))
        first_seen, live_first_seen = self._first_seen
        frame, other = ours.frame(position), theirs.frame(their_position)
        notes: dict[str, str] = {}
        fallback: list[Change] = []
        pairs = zip(
            ours.kinds_at(position),
            ours.values_at(position),
            theirs.values_at(their_position),
            strict=False,
        )
        for kind, mine, yours in pairs:
            if self.forward.get(mine) == yours and self.backward.get(yours) == mine:
                continue
            where, live_where = first_seen.get(mine), live_first_seen.get(yours)
            recorded_part = (
                f"the recording reuses the value first seen in frame {where}"
                if where is not None and where != frame.index
                else "the recording has a value new here"
            )
            live_part = (
                f"live reuses the value first seen in live frame {live_where}"
                if live_where is not None and live_where != other.index
                else "live has a value new here"
            )
            token = self.recorded.token((kind, mine))
            notes[token] = f"link broken: {recorded_part}, {live_part}"
            live_token = self.live.token((kind, yours))
            fallback.append(Change("(placeholder)", "changed", token, live_token, notes[token]))
        changes = _explain(frame, other, ours.projected, self, notes) or fallback
        return _changed(frame, other, changes, stream)


def _by_kind(originals: Iterable[Original]) -> dict[str, list[Any]]:
    kinds: dict[str, list[Any]] = {}
    for kind, value in originals:
        kinds.setdefault(kind, []).append(value)
    return kinds


def _first_seen(stream: MaskedStream) -> dict[Any, int]:
    """The frame where each value first appears."""
    table = stream.table
    seen: dict[Any, int] = {}
    for row, index in enumerate(table.indices):
        for value in table.row_values(row):
            seen.setdefault(value, index)
    return seen


# --- aligning one mode -----------------------------------------------------------------------


class _Group:
    """One mode of one stream pair: align, then report."""

    def __init__(self, mode: str, ours: _Views, theirs: _Views, stream: int, links: _Links) -> None:
        self.mode = mode
        self.ours = ours
        self.theirs = theirs
        self.stream = stream
        self.links = links

    def compare(self) -> list[Difference]:
        """Frames on one side only and moved frames; the aligned frames that differ are kept
        in ``changed``, to explain once the links of the equal frames are known."""
        ours, theirs = self.ours, self.theirs
        self.changed: list[tuple[int, int]] = []
        removed: list[int] = []  # positions in ours
        added: list[int] = []  # positions in theirs
        changed: list[tuple[int, int]] = []
        for tag, i1, i2, j1, j2 in _opcodes(ours, theirs):
            if tag == "equal":
                self.links.add(ours, i1, theirs, j1, i2 - i1)
            elif tag == "delete":
                removed += range(i1, i2)
            elif tag == "insert":
                added += range(j1, j2)
            else:
                self._replace(range(i1, i2), range(j1, j2), removed, added, changed)
        found = self._moves(removed, added)
        found += [self._one_sided(ours, position, recorded=True) for position in removed]
        found += [self._one_sided(theirs, position, recorded=False) for position in added]
        self.changed = changed
        return found

    def explain(self) -> list[Difference]:
        """Field differences of the aligned frames that differ (after ``links.check``)."""
        ours, theirs = self.ours, self.theirs
        for mine, yours in self.changed:
            self.links.pair_new(ours.frame(mine), theirs.frame(yours))
        found: list[Difference] = []
        for mine, yours in self.changed:
            frame, other = ours.frame(mine), theirs.frame(yours)
            changes = _explain(frame, other, ours.projected, self.links, {})
            if changes:
                found.append(_changed(frame, other, changes, self.stream, self.mode))
        return found

    def _replace(
        self,
        ours: range,
        theirs: range,
        removed: list[int],
        added: list[int],
        changed: list[tuple[int, int]],
    ) -> None:
        """Frames that differ where both streams have some: pair them by label (the node that
        ran) so that a changed frame is explained, and the rest ran on one side only. Among
        pairings with as many pairs, the one whose paired frames share the most is chosen
        (a subgraph's extra ``values`` event is the extra one, not the one after it)."""
        ours_labels = [_label(self.ours.frame(position))[0] for position in ours]
        theirs_labels = [_label(self.theirs.frame(position))[0] for position in theirs]
        if len(ours) * len(theirs) <= _PAIRING_MAX:
            pairs = _pairing(
                ours_labels,
                theirs_labels,
                [_parts(self.ours.frame(position)) for position in ours],
                [_parts(self.theirs.frame(position)) for position in theirs],
            )
            changed += [(ours[i], theirs[j]) for i, j in pairs]
            removed += [ours[i] for i in sorted(set(range(len(ours))) - {i for i, _ in pairs})]
            added += [theirs[j] for j in sorted(set(range(len(theirs))) - {j for _, j in pairs})]
            return
        matcher = SequenceMatcher(None, ours_labels, theirs_labels, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                changed += zip(ours[i1:i2], theirs[j1:j2], strict=False)
            else:
                removed += ours[i1:i2]
                added += theirs[j1:j2]

    def _moves(self, removed: list[int], added: list[int]) -> list[Difference]:
        """A frame gone from one place and found unchanged at another moved: frames reordered."""
        waiting: dict[Any, list[int]] = {}
        for position in added:
            waiting.setdefault(self.theirs.key(position), []).append(position)
        found: list[Difference] = []
        kept: list[int] = []
        for position in removed:
            candidates = waiting.get(self.ours.key(position))
            if not candidates:
                kept.append(position)
                continue
            other = candidates.pop(0)
            added.remove(other)
            frame, moved = self.ours.frame(position), self.theirs.frame(other)
            label, _ = _label(frame)
            message = (
                f"{label} moved: recorded frame {frame.index} is live frame {moved.index} "
                "(frames reordered)"
            )
            found.append(
                Difference(
                    "frame_moved",
                    self.stream,
                    message,
                    mode=self.mode,
                    recorded_frame=frame.index,
                    live_frame=moved.index,
                    label=label,
                )
            )
            self.links.add(self.ours, position, self.theirs, other, 1)
        removed[:] = kept
        return found

    def _one_sided(self, views: _Views, position: int, *, recorded: bool) -> Difference:
        frame = views.frame(position)
        label, ran = _label(frame)
        verb = "ran" if ran else "was streamed"
        index = frame.index
        if recorded:
            message = f"{label} {verb} in the recording but not live (recorded frame {index})"
            return Difference(
                "frame_removed", self.stream, message, self.mode, recorded_frame=index, label=label
            )
        message = f"{label} {verb} live but not in the recording (live frame {index})"
        return Difference(
            "frame_added", self.stream, message, self.mode, live_frame=index, label=label
        )


_PAIRING_MAX = 4096  # frames on one side times the other, in a block paired by similarity
_PAIR = 1 << 30  # a pair outweighs any similarity: as many pairs as labels allow, first


def _parts(frame: MaskedFrame) -> Counter[str]:
    """A masked frame's data cut at commas: what two frames share, roughly, field by field."""
    return Counter((frame.data_shape or "").split(","))


def _pairing(
    ours: Sequence[str],
    theirs: Sequence[str],
    ours_parts: Sequence[Counter[str]],
    theirs_parts: Sequence[Counter[str]],
) -> list[tuple[int, int]]:
    """Pairs of same-label positions, in order on both sides: as many as possible, then
    the most shared parts (an alignment by dynamic programming over the block)."""
    rows, columns = len(ours), len(theirs)
    best = [[0] * (columns + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(columns - 1, -1, -1):
            score = max(best[i + 1][j], best[i][j + 1])
            if ours[i] == theirs[j]:
                shared = sum((ours_parts[i] & theirs_parts[j]).values())
                score = max(score, _PAIR + shared + best[i + 1][j + 1])
            best[i][j] = score
    pairs: list[tuple[int, int]] = []
    i = j = 0
    while i < rows and j < columns:
        if best[i][j] == best[i + 1][j]:
            i += 1
        elif best[i][j] == best[i][j + 1]:
            j += 1
        else:
            pairs.append((i, j))
            i, j = i + 1, j + 1
    return pairs


_BLOCK = 64  # items compared at once first, then twice as many each time


def _common_prefix(ours: list[Any], theirs: list[Any], limit: int) -> int:
    """How many of the first ``limit`` items two lists share."""
    return _shared(lambda done, upto: (ours[done:upto], theirs[done:upto]), limit)


def _common_suffix(ours: list[Any], theirs: list[Any], limit: int) -> int:
    """How many of the last ``limit`` items two lists share."""
    end, their_end = len(ours), len(theirs)
    return _shared(
        lambda done, upto: (
            ours[end - upto : end - done][::-1],
            theirs[their_end - upto : their_end - done][::-1],
        ),
        limit,
    )


def _shared(blocks: Callable[[int, int], tuple[list[Any], list[Any]]], limit: int) -> int:
    """How many of the first ``limit`` items two sequences share, given their items
    ``done:upto`` as lists by ``blocks``: blocks of growing size compared whole (at C speed,
    an item that is the other not even compared), then the first pair that differs in the
    block that differs."""
    done, size = 0, _BLOCK
    while done < limit:
        upto = min(done + size, limit)
        mine, yours = blocks(done, upto)
        if mine != yours:
            return done + next(compress(range(upto - done), map(ne, mine, yours)))
        done, size = upto, size * 2
    return limit


def _opcodes(ours: _Views, theirs: _Views) -> Iterator[tuple[str, int, int, int, int]]:
    """difflib opcodes, with the common head and tail taken off first, column by column (cheap,
    and the usual case: streams that differ in a few frames)."""
    # the data first: where frames differ, it mostly does, so the others are searched less
    pairs = list(zip(ours.columns, theirs.columns, strict=True))[::-1]
    head = min(len(ours), len(theirs))
    for mine, yours in pairs:  # each column searched only as far as the others agree
        head = _common_prefix(mine, yours, head)
    tail = min(len(ours), len(theirs)) - head
    for mine, yours in pairs:
        tail = _common_suffix(mine, yours, tail)
    if head:
        yield ("equal", 0, head, 0, head)
    middle_ours = ours.keys(head, len(ours) - tail)
    middle_theirs = theirs.keys(head, len(theirs) - tail)
    if middle_ours or middle_theirs:
        matcher = SequenceMatcher(None, middle_ours, middle_theirs, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            yield (tag, i1 + head, i2 + head, j1 + head, j2 + head)
    if tail:
        yield ("equal", len(ours) - tail, len(ours), len(theirs) - tail, len(theirs))


# --- explaining a changed frame --------------------------------------------------------------


def _changed(
    frame: MaskedFrame,
    other: MaskedFrame,
    changes: Sequence[Change],
    stream: int,
    mode: str | None = None,
) -> Difference:
    label, _ = _label(frame)
    where = f"frame {frame.index}"
    if other.index != frame.index:
        where += f" (live frame {other.index})"
    return Difference(
        "frame_changed",
        stream,
        f"{where}, {label}",
        mode=mode or _mode_of(frame),
        recorded_frame=frame.index,
        live_frame=other.index,
        label=label,
        changes=tuple(changes),
    )


def _mode_of(frame: MaskedFrame) -> str:
    return _stream_mode(frame.name)


def _parse(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def _explain(
    frame: MaskedFrame, other: MaskedFrame, projected: bool, links: _Links, notes: dict[str, str]
) -> list[Change]:
    """Field differences of two aligned frames (DeepDiff's, on the masked data, the live
    placeholders numbered as the recording's where the values are linked)."""
    tokens, translated = frame.tokens, links.translate(other)
    changes: list[Change] = []
    ours_event = _numbered(frame.event_shape, tokens)
    theirs_event = _numbered(other.event_shape, translated)
    if ours_event != theirs_event:
        changes.append(Change("(event)", "changed", ours_event, theirs_event))
    ours_data = _parse(_numbered(frame.data_shape, tokens))
    theirs_data = _parse(_numbered(other.data_shape, translated))
    if projected:
        ours_data, theirs_data = _project(ours_data), _project(theirs_data)
    else:
        ours_id, theirs_id = frame.id, _numbered(other.id_shape, translated)
        if ours_id != theirs_id:
            changes.append(Change("(id)", "changed", ours_id, theirs_id))
    prefix = _path_prefix(frame, ours_data, theirs_data)
    for report_type, path, old, new in field_changes(ours_data, theirs_data):
        change: ChangeKind = "changed"
        if report_type.endswith("_added"):
            change = "added"
        elif report_type.endswith("_removed"):
            change = "removed"
        note = None
        if isinstance(old, str):
            note = next((text for token, text in notes.items() if token in old), None)
        parts = tuple(path) if not projected else None
        changes.append(Change(_format_path(path, prefix), change, old, new, note, parts))
    changes.sort(key=lambda c: _natural(c.path))
    return changes


def _natural(path: str) -> list[Any]:
    return [int(part) if part.isdigit() else part for part in re.split(r"([0-9]+)", path)]


def _path_prefix(frame: MaskedFrame, ours: Any, theirs: Any) -> list[Any]:
    """The leading path part the label already names (an update's node), to leave out."""
    if (
        _mode_of(frame) == "updates"
        and isinstance(ours, dict)
        and isinstance(theirs, dict)
        and len(ours) == 1
        and list(ours) == list(theirs)
    ):
        return list(ours)
    return []


def _format_path(path: Sequence[Any], prefix: Sequence[Any]) -> str:
    if prefix and list(path[: len(prefix)]) == list(prefix):
        path = path[len(prefix) :]
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            shown = orjson.dumps(part).decode() if isinstance(part, str) else repr(part)
            text += f"[{shown}]"
    return text or "(whole frame)"


# --- labels: frames in LangGraph terms -------------------------------------------------------


def _label(frame: MaskedFrame) -> tuple[str, bool]:
    """``("node 'agent'", True)``: what a frame is, and whether it means something ran."""
    base = (frame.name or "message").partition("|")[0]
    data = frame.data
    namespace = runs.namespace_of(frame.name or "message")
    event = threads.unwrap(data)
    if event is not None:  # a v3 event: its namespace and payload are in its params
        namespace, data = event
    ran = False
    if base == "updates" and isinstance(data, dict):
        ran = True
        nodes = list(data)
        if nodes == ["__interrupt__"]:
            label = "interrupt"
        elif nodes:
            label = ("node " if len(nodes) == 1 else "nodes ") + ", ".join(map(repr, nodes))
        else:
            label = "empty update"
    elif base == "values":
        label = "state values"
    elif base == "tasks" and isinstance(data, dict):
        ran = True
        label = f"task {data.get('name')!r}" + (" result" if "result" in data else "")
    elif base == "debug" and isinstance(data, dict):
        payload = data.get("payload")
        name = payload.get("name") if isinstance(payload, dict) else None
        label = f"debug {data.get('type')}" + (f" of {name!r}" if name else "")
        ran = data.get("type") in ("task", "task_result")
    elif base == "messages" or base.startswith("messages/"):
        node = None
        if isinstance(data, list) and len(data) == 2 and isinstance(data[1], dict):
            node = data[1].get("langgraph_node")
        label = "message" + (f" from node {node!r}" if node else "")
    elif base == "events" and isinstance(data, dict):
        label = f"event {data.get('event')!r}"
        if data.get("name"):
            label += f" of {data['name']!r}"
    elif base == "custom":
        label = "custom event"
    elif base == "checkpoints":
        label = "checkpoint"
    elif base == "lifecycle" and isinstance(data, dict):  # v3: a run or subgraph starts, ends
        label = f"lifecycle {data.get('event')!r}"
    elif base == "error":
        label = "error"
    elif base == "metadata":
        label = "run metadata"
    else:
        label = f"{base!r} event"
    if namespace:
        label += f" in subgraph {' > '.join(namespace)!r}"
    return label, ran
