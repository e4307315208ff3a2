"""Request matching: which recorded interaction answers a live request, and why not.

A matcher compares one aspect of two requests and returns ``None`` when they agree, or a
short sentence saying how they differ; that sentence is what a mismatch error shows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ._cassette import RecordedRequest

__all__ = ["DEFAULT_MATCH_ON", "MATCHERS", "Matcher", "differences", "json_difference"]

Matcher = Callable[[RecordedRequest, RecordedRequest], "str | None"]


def _method(live: RecordedRequest, recorded: RecordedRequest) -> str | None:
    if live.method.upper() == recorded.method.upper():
        return None
    return f"method {recorded.method} -> {live.method}"


def _path(live: RecordedRequest, recorded: RecordedRequest) -> str | None:
    if live.path == recorded.path:
        return None
    return f"path {recorded.path} -> {live.path}"


def _query(live: RecordedRequest, recorded: RecordedRequest) -> str | None:
    if sorted(live.query) == sorted(recorded.query):
        return None
    return f"query {_query_text(recorded.query)} -> {_query_text(live.query)}"


def _body(live: RecordedRequest, recorded: RecordedRequest) -> str | None:
    live_content = live.body.content if live.body else b""
    recorded_content = recorded.body.content if recorded.body else b""
    if live_content == recorded_content:
        return None
    live_json = live.body.json_or_none() if live.body else None
    recorded_json = recorded.body.json_or_none() if recorded.body else None
    if live_json is not None and recorded_json is not None:
        found = json_difference(recorded_json, live_json)
        return None if found is None else f"body {found}"
    return f"body {_clip(recorded_content)!r} -> {_clip(live_content)!r}"


def _last_event_id(live: RecordedRequest, recorded: RecordedRequest) -> str | None:
    ours, theirs = live.header("last-event-id"), recorded.header("last-event-id")
    if ours == theirs:
        return None
    return f"Last-Event-ID {theirs!r} -> {ours!r}"


MATCHERS: dict[str, Matcher] = {
    "method": _method,
    "path": _path,
    "query": _query,
    "body": _body,
    "last_event_id": _last_event_id,
}
# Last-Event-ID decides where a joined stream resumes, so it is part of what was asked.
DEFAULT_MATCH_ON: tuple[str, ...] = ("method", "path", "query", "body", "last_event_id")


def resolve(match_on: Iterable[str | Matcher]) -> list[tuple[str, Matcher]]:
    """Named matchers and user callables, in the order given."""
    resolved: list[tuple[str, Matcher]] = []
    for item in match_on:
        if isinstance(item, str):
            if item not in MATCHERS:
                known = ", ".join(sorted(MATCHERS))
                msg = f"unknown matcher {item!r}; known matchers: {known}"
                raise ValueError(msg)
            resolved.append((item, MATCHERS[item]))
        else:
            resolved.append((getattr(item, "__name__", repr(item)), item))
    return resolved


def differences(
    live: RecordedRequest, recorded: RecordedRequest, matchers: Sequence[tuple[str, Matcher]]
) -> list[str]:
    """How ``live`` differs from ``recorded`` under the matchers: empty when it matches."""
    found: list[str] = []
    for _name, matcher in matchers:
        difference = matcher(live, recorded)
        if difference is not None:
            found.append(difference)
    return found


def json_difference(recorded: Any, live: Any, path: str = "") -> str | None:
    """The first place two JSON values differ, as ``path: old -> new``; ``None`` if equal."""
    if isinstance(recorded, dict) and isinstance(live, dict):
        for key in sorted(recorded.keys() | live.keys(), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in live:
                return f"{where}: {_clip_json(recorded[key])} -> (missing)"
            if key not in recorded:
                return f"{where}: (missing) -> {_clip_json(live[key])}"
            found = json_difference(recorded[key], live[key], where)
            if found is not None:
                return found
        return None
    if isinstance(recorded, list) and isinstance(live, list):
        for index, (old, new) in enumerate(zip(recorded, live, strict=False)):
            found = json_difference(old, new, f"{path}[{index}]")
            if found is not None:
                return found
        if len(recorded) != len(live):
            return f"{path or '(root)'}: {len(recorded)} items -> {len(live)} items"
        return None
    if recorded == live and type(recorded) is type(live):
        return None
    return f"{path or '(root)'}: {_clip_json(recorded)} -> {_clip_json(live)}"


def _clip_json(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _clip(content: bytes) -> bytes:
    return content if len(content) <= 80 else content[:77] + b"..."


def _query_text(pairs: list[tuple[str, str]]) -> str:
    return "?" + "&".join(f"{key}={value}" for key, value in pairs) if pairs else "(none)"
