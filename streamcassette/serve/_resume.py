"""Where a join resumes: the frames after ``Last-Event-ID``, in the recording server's order.

The two LangGraph servers number frames differently and resume differently:

* the **JavaScript** server (``@langchain/langgraph-api``) puts ``id: 0``, ``1``, ... on every
  frame: the frame's position in the run's stream. A join sends the frames from position
  ``Number(Last-Event-ID) + 1`` on, when that is a position in the stream: ``-1`` is
  everything, ``0`` everything after frame 0, and an id that is not a number, or past the
  end, or below ``-1``, gets nothing;
* the **Python** server (``langgraph-api``) puts ``<epoch_ms>-<seq>`` ids on resumable streams
  and sends the frames whose id comes after ``Last-Event-ID``, in ``(ms, seq)`` order.

The cassette's provenance (``GET /info`` of the recording server: ``langgraph_js_version``
or ``context: "js"`` for the JavaScript server, ``langgraph_py_version`` for the Python one)
says which; a cassette without one is judged by its frame ids.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from .._cassette import RecordedFrame

__all__ = ["ServerKind", "recording_server", "resumes_after"]

ServerKind = Literal["js", "python"]

_MS_SEQ = re.compile(r"([0-9]+)-([0-9]+)\Z")
_JS_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_JS_PREFIXED = {"0x": 16, "0o": 8, "0b": 2}


def recording_server(provenance: Mapping[str, Any], frames: Sequence[RecordedFrame]) -> ServerKind:
    """Which server recorded a stream: from the cassette's provenance, else its frame ids."""
    server = provenance.get("server")
    if isinstance(server, Mapping):
        if "langgraph_js_version" in server or server.get("context") == "js":
            return "js"
        if "langgraph_py_version" in server:
            return "python"
    ids = [frame.parse().id for frame in frames]
    numbered = [event_id for event_id in ids if event_id is not None]
    if numbered and all(event_id.isdigit() for event_id in numbered):
        return "js"
    return "python"


def resumes_after(server: ServerKind, last_event_id: str) -> Callable[[str | None], bool]:
    """Whether a frame with this SSE id is sent to a join after ``last_event_id``."""
    if server == "js":
        return _js_after(last_event_id)
    return _python_after(last_event_id)


def _js_after(last_event_id: str) -> Callable[[str | None], bool]:
    number = _js_number(last_event_id)
    start = None if number is None else number + 1
    if start is None or not math.isfinite(start) or start < 0 or start != int(start):
        return lambda _event_id: False  # the server waits for frames that never come

    def after(event_id: str | None) -> bool:
        return event_id is not None and event_id.isdigit() and int(event_id) >= start

    return after


def _js_number(text: str) -> float | None:
    """``Number(text)`` as JavaScript reads a header value; ``None`` for ``NaN``."""
    stripped = text.strip()
    if not stripped:
        return 0.0
    prefix = stripped[:2].lower()
    if prefix in _JS_PREFIXED:
        try:
            return float(int(stripped[2:], _JS_PREFIXED[prefix]))
        except ValueError:
            return None
    if stripped.lstrip("+-") == "Infinity":
        return -math.inf if stripped.startswith("-") else math.inf
    if _JS_DECIMAL.match(stripped):
        return float(stripped)
    return None


def _python_after(last_event_id: str) -> Callable[[str | None], bool]:
    wanted = _MS_SEQ.match(last_event_id)
    if wanted is None:  # not an id the server makes: it compares the text
        return lambda event_id: event_id is not None and event_id > last_event_id
    key = (int(wanted.group(1)), int(wanted.group(2)))

    def after(event_id: str | None) -> bool:
        found = _MS_SEQ.match(event_id) if event_id is not None else None
        if found is None:
            return event_id is not None and event_id > last_event_id
        return (int(found.group(1)), int(found.group(2))) > key

    return after
