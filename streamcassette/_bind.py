"""Alias-aware matching: ids a client mints bind to the ids the recording had at the same place.

A replayed client often mints ids of its own: a thread id for ``threads.create(thread_id=...)``
or ``client.threads.stream()``, a fresh message id per submit. Exact matching would reject
every such request. Instead, the first time a live request carries id X where the recorded
request carried id Y *at the same place* (the same path segment, query value, header, or JSON
value), X and Y are bound for the session, the way masking aliases values consistently within
a stream. Later requests must agree with the bindings: a request that names another thread
where the recording named Y (already bound to X) is still a mismatch, and is explained so.

Responses are then served with the live ids where the recording had their bound counterparts
(headers, bodies, SSE frames), so the client sees one consistent world; ids that are not bound
stay byte-exact, and with no binding but identities nothing is rewritten at all.

Id shapes are those the masking rules know: UUIDs of any version (also inside strings such as
``run-<uuid>``) and tool-call ids (``call_…``, ``toolu_…``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import orjson

from ._alias import TOOL_CALL_PATTERN, UUID_PATTERN
from ._cassette import Body, RecordedRequest

__all__ = ["ID_PATTERN", "IdBindings", "IdConflict", "RequestIds"]

# The id shapes the masking engine knows (one definition for matching and diffing).
ID_PATTERN = f"{UUID_PATTERN}|{TOOL_CALL_PATTERN}"
_ID = re.compile(ID_PATTERN)
# Request headers whose ids say nothing about the world the client sees.
_IGNORED_HEADERS = frozenset({"user-agent", "host", "content-length", "date", "traceparent"})


@dataclass(frozen=True, slots=True)
class _Place:
    """Where an id stands in a request, for alignment and for messages."""

    where: str  # "path", "query q", "header h", "body a.b[0]"
    noun: str  # what the id names there, e.g. "thread", or "id"


@dataclass(frozen=True, slots=True)
class IdConflict:
    """A live id that cannot stand where the recording had ``recorded``."""

    place: str
    live: str
    recorded: str
    reason: str

    def describe(self) -> str:
        return (
            f"{self.place}: {self.live} stands where the recording had {self.recorded}, "
            f"{self.reason}"
        )


def _skeleton(text: str) -> tuple[str, list[str]] | None:
    """The text with its ids cut out, and the ids; None when it has none."""
    ids = _ID.findall(text)
    if not ids:
        return None
    return _ID.sub("\0", text), ids


def _noun(segment: str) -> str:
    """``threads`` -> ``thread``: what an id after a path segment names."""
    if segment.endswith("s") and segment.isalpha():
        return segment[:-1]
    return "id"


class RequestIds:
    """The ids of one request, by place: computed once per request (and per recording)."""

    __slots__ = ("places",)

    def __init__(self, request: RecordedRequest) -> None:
        self.places: dict[str, tuple[_Place, str, list[str]]] = {}
        segments = request.path.split("/")
        for index, segment in enumerate(segments):
            noun = _noun(segments[index - 1]) if index else "id"
            self._add(f"path /{index}", "path", noun, segment)
        seen: dict[str, int] = {}
        for key, value in request.query:
            position = seen[key] = seen.get(key, -1) + 1
            self._add(f"query {key}#{position}", f"query {key}", key, value)
        for key, value in request.headers:
            name = key.lower()
            if name not in _IGNORED_HEADERS:
                self._add(f"header {name}", f"header {key}", name, value)
        if request.body is not None and _ID.search(request.body.content.decode("utf-8", "replace")):
            try:
                document = orjson.loads(request.body.content)
            except orjson.JSONDecodeError:
                self._add("body", "body", "id", request.body.content.decode("utf-8", "replace"))
            else:
                for path, text in _strings(document, ""):
                    self._add(f"body {path}", f"body {path or '(root)'}", _key_noun(path), text)

    def _add(self, key: str, where: str, noun: str, text: str) -> None:
        found = _skeleton(text)
        if found is not None:
            self.places[key] = (_Place(where, noun), found[0], found[1])

    def __bool__(self) -> bool:
        return bool(self.places)


def _key_noun(path: str) -> str:
    last = re.split(r"[.\[]", path)[-1].rstrip("]")
    return last.removesuffix("_id") if last.endswith("_id") else "id"


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string in a JSON document with its path (``a.b[0]``)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


class IdBindings:
    """The session's bindings between live ids and recorded ids (one to one).

    :meth:`propose` aligns a live request with a recorded one under the current bindings;
    :meth:`commit` keeps what the chosen interaction bound; :meth:`to_live` rewrites recorded
    ids in served bytes. Thread-safe: one replay session may serve several threads.
    """

    def __init__(self) -> None:
        self.to_recorded: dict[str, str] = {}
        self.to_live: dict[str, str] = {}
        self._lock = threading.Lock()
        # Recorded id -> live id where they differ, as bytes, with one regex over them.
        self._rewrites: dict[bytes, bytes] = {}
        self._rewrite_rx: re.Pattern[bytes] | None = None
        self._rewrite_keys: tuple[bytes, ...] = ()  # the recorded ids it rewrites

    def propose(
        self, live: RequestIds, recorded: RequestIds
    ) -> tuple[dict[str, str], list[IdConflict]]:
        """New live -> recorded bindings that make ``live`` read like ``recorded``, and the ids
        that cannot be bound (already bound elsewhere)."""
        new: dict[str, str] = {}
        taken: dict[str, str] = {}
        conflicts: list[IdConflict] = []
        for key, (place, skeleton, live_ids) in live.places.items():
            other = recorded.places.get(key)
            if other is None or other[1] != skeleton or len(other[2]) != len(live_ids):
                continue  # a different shape here: the exact matchers explain it
            for live_id, recorded_id in zip(live_ids, other[2], strict=True):
                bound = self.to_recorded.get(live_id) or new.get(live_id)
                if bound is not None:
                    if bound != recorded_id:
                        reason = f"but {live_id} is already bound to the recording's {bound}"
                        conflicts.append(
                            IdConflict(_place_text(place), live_id, recorded_id, reason)
                        )
                    continue
                owner = self.to_live.get(recorded_id) or taken.get(recorded_id)
                if owner is not None and owner != live_id:
                    noun = place.noun if place.noun != "id" else "id"
                    reason = (
                        f"but the recording's {recorded_id} is already bound to {owner}: "
                        f"a different {noun} than the recording used"
                    )
                    conflicts.append(IdConflict(_place_text(place), live_id, recorded_id, reason))
                    continue
                new[live_id] = recorded_id
                taken[recorded_id] = live_id
        return new, conflicts

    def translate(self, request: RecordedRequest, new: dict[str, str]) -> RecordedRequest:
        """``request`` with its bound live ids replaced by their recorded counterparts."""
        mapping = {**self.to_recorded, **new} if new else self.to_recorded
        if not any(live != recorded for live, recorded in mapping.items()):
            return request

        def swap(text: str) -> str:
            return _ID.sub(lambda m: mapping.get(m.group(), m.group()), text)

        body = request.body
        if body is not None:
            content = body.content.decode("utf-8", "surrogateescape")
            swapped = swap(content)
            if swapped != content:
                body = Body(swapped.encode("utf-8", "surrogateescape"))
        return replace(
            request,
            path=swap(request.path),
            query=[(key, swap(value)) for key, value in request.query],
            headers=[(key, swap(value)) for key, value in request.headers],
            body=body,
        )

    def commit(self, new: dict[str, str]) -> None:
        if not new:
            return
        with self._lock:
            for live_id, recorded_id in new.items():
                self.to_recorded[live_id] = recorded_id
                self.to_live[recorded_id] = live_id
                if live_id != recorded_id:
                    self._rewrites[recorded_id.encode()] = live_id.encode()
            if self._rewrites:
                keys = tuple(sorted(self._rewrites, key=len, reverse=True))
                # Keys first: a reader between the two sees the new keys with the old
                # regex, which rewrites as before this commit.
                self._rewrite_keys = keys
                self._rewrite_rx = re.compile(b"|".join(re.escape(key) for key in keys))

    @property
    def rewrites(self) -> bool:
        """Whether served bytes need rewriting (some live id differs from its recording)."""
        return self._rewrite_rx is not None

    def to_live_bytes(self, data: bytes) -> bytes:
        """``data`` with every bound recorded id replaced by its live id."""
        rx = self._rewrite_rx
        if rx is None:
            return data
        # Most frames (a token's delta) hold no id: a substring search per id (memchr
        # speed) rules them out far sooner than the regex, whose alternation of literals
        # has no prefix to skip by.
        for recorded_id in self._rewrite_keys:  # a loop: a generator costs more here
            if recorded_id in data:
                break
        else:
            return data
        rewrites = self._rewrites
        return rx.sub(lambda m: rewrites[m.group()], data)

    def to_live_text(self, text: str) -> str:
        if self._rewrite_rx is None:
            return text
        return self.to_live_bytes(text.encode("utf-8", "surrogateescape")).decode(
            "utf-8", "surrogateescape"
        )


def _place_text(place: _Place) -> str:
    return place.where if place.noun == "id" else f"{place.where} ({place.noun})"
