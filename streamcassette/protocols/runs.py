"""The runs-stream protocol: ``POST /threads/{id}/runs/stream``, ``POST /runs/stream`` and joins.

A run streams SSE frames whose ``event`` is a stream mode, optionally with a subgraph
namespace (``updates|agent:<task id>``); the first frame is ``metadata`` with the run id.
The stream ends when the run does (the server closes it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "AI_CHUNK_TYPES",
    "DIFF_MODES",
    "JOIN_PATH",
    "NOT_RUN_IDS",
    "RUN_LOCATION",
    "RUN_PATH",
    "RUN_START_PATH",
    "RUN_STREAM_PATH",
    "THREAD_PATH",
    "is_run_request",
    "join_stream_modes",
    "mode_matches",
    "namespace_of",
    "stream_modes",
    "token_text",
]

# What a drift check compares when no modes are configured: what each node did.
DIFF_MODES: tuple[str, ...] = ("updates",)

THREAD_PATH = re.compile(r"^/threads/([^/]+)(?:/.*)?$")
RUN_STREAM_PATH = re.compile(r"^(?:/threads/([^/]+))?/runs/stream$")
JOIN_PATH = re.compile(r"^(?:/threads/([^/]+))?/runs/([^/]+)/stream$")
# Anything under one run: /threads/{thread_id}/runs/{run_id}[/...]; "stream" etc. are not ids.
RUN_PATH = re.compile(r"^/threads/[^/]+/runs/([^/]+)(?:/.*)?$")
NOT_RUN_IDS = frozenset({"stream", "wait", "crons", "batch"})
# Content-Location of a run: /threads/{thread_id}/runs/{run_id} or /runs/{run_id}.
RUN_LOCATION = re.compile(r"^(?:/threads/([^/]+))?/runs/([^/]+)$")
# A request that starts a run: POST to …/runs, …/runs/stream or …/runs/wait.
RUN_START_PATH = re.compile(r"^(?:/threads/([^/]+))?/runs(?:/stream|/wait)?$")


def is_run_request(method: str, path: str) -> bool:
    """Whether the request starts a run or reads one (a join, the run's record)."""
    if method.upper() == "POST" and RUN_START_PATH.match(path):
        return True
    match = RUN_PATH.match(path)
    return bool(JOIN_PATH.match(path) or (match and match.group(1) not in NOT_RUN_IDS))


def stream_modes(value: Any) -> tuple[str, ...]:
    """The stream modes a run body asks for, sorted; absent or empty means ``values``."""
    if not value:
        return ("values",)
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(sorted({str(item) for item in value}))
    return (str(value),)


def join_stream_modes(query: Iterable[tuple[str, str]]) -> list[str]:
    """The ``stream_mode`` filter of a join request, parsed as langgraph-api parses it."""
    values = [value for key, value in query if key == "stream_mode" and value]
    modes: list[str] = []
    for value in values:
        if value.startswith("["):
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if isinstance(parsed, list):
                modes.extend(str(item) for item in parsed)
                continue
        modes.append(value)
    return modes


def mode_matches(event: str, modes: Sequence[str]) -> bool:
    """Whether a run-stream event passes a join's ``stream_mode`` filter (as the server decides)."""
    if not modes or event in modes:
        return True
    if ("messages" in modes or "messages-tuple" in modes) and event.startswith("messages"):
        return True
    return "|" in event and event.partition("|")[0] in modes


def namespace_of(event: str) -> tuple[str, ...]:
    """The subgraph nodes an event's name says it comes from, without their ``:<task id>``:
    ``updates|child:<id>|grandchild:<id>`` is ``("child", "grandchild")``; root: ``()``."""
    if "|" not in event:
        return ()
    return tuple(segment.partition(":")[0] for segment in event.split("|")[1:])


# What an AI message chunk says its type is: ``AIMessageChunk`` from the Python server,
# ``ai`` from the JavaScript server (LangChain.js serialises a chunk by its message type).
AI_CHUNK_TYPES = frozenset({"AIMessageChunk", "ai"})


def token_text(event: str, data: Any) -> str | None:
    """The text of a streamed LLM token (``messages-tuple`` mode), else ``None``."""
    if not event.startswith("messages") or not isinstance(data, list) or len(data) != 2:
        return None
    chunk = data[0]
    if not isinstance(chunk, dict) or chunk.get("type") not in AI_CHUNK_TYPES:
        return None
    content = chunk.get("content")
    text = content if isinstance(content, str) else ""
    for call in chunk.get("tool_call_chunks") or ():
        if isinstance(call, dict):
            name = f"[tool call {call['name']}] " if call.get("name") else ""
            text += name + (call.get("args") or "")
    return text
