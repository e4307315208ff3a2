"""An index over one cassette or a folder of them: which runs exist, and what answers a request.

Pure data and matching, no web framework: ``_app`` asks this module for ranked candidates
and keeps the only state (where each thread has got to).

Vocabulary: an *entry* is one recorded interaction with where it sits (cassette name, index,
thread and run ids); a *run* is an entry whose request started a streamed run
(``POST /threads/{id}/runs/stream`` or ``POST /runs/stream``), described by its *key*:
assistant, input, command, stream modes and whether subgraphs stream.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from .._cassette import Cassette, Interaction, RecordedFrame, RecordedRequest
from .._format import load
from .._match import json_difference
from ..protocols.runs import (
    JOIN_PATH,
    NOT_RUN_IDS,
    RUN_LOCATION,
    RUN_PATH,
    RUN_STREAM_PATH,
    THREAD_PATH,
    stream_modes,
)

__all__ = [
    "Entry",
    "Library",
    "LibraryError",
    "RecordedRun",
    "RunKey",
    "canonical_assistant",
    "narrows",
    "run_key",
    "stream_modes",
]

# langgraph-api gives each graph's default assistant the id uuid5(NAMESPACE_GRAPH, graph_id)
# and accepts either form in requests; both name the same assistant here too.
NAMESPACE_GRAPH = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


RunKind = Literal["thread", "stateless"]


class LibraryError(ValueError):
    """A cassette or folder that cannot be served: names the path and the fix."""


def canonical_assistant(assistant_id: Any) -> str | None:
    """The assistant's UUID: a graph name maps to its default assistant, as the server does."""
    if assistant_id is None:
        return None
    text = str(assistant_id)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return str(uuid.uuid5(NAMESPACE_GRAPH, text))


@dataclass(frozen=True, slots=True)
class RunKey:
    """What picks a recorded run: the same graph asked the same thing in the same modes."""

    assistant_id: str | None  # canonical (UUID) form
    input: Any
    command: Any
    stream_mode: tuple[str, ...]
    subgraphs: bool

    def differences(self, live: RunKey, names: tuple[Any, Any] = (None, None)) -> list[str]:
        """How ``live`` differs from this recorded key; empty when it matches.

        ``names`` are the assistants as the two requests spelled them, for the message.
        """
        found: list[str] = []
        if self.assistant_id != live.assistant_id:
            recorded_name, live_name = names
            found.append(f"assistant_id {recorded_name!r} -> {live_name!r}")
        for name in ("input", "command"):
            recorded_value, live_value = getattr(self, name), getattr(live, name)
            difference = json_difference(recorded_value, live_value, name)
            if difference is not None:
                found.append(difference)
        if self.stream_mode != live.stream_mode:
            found.append(f"stream_mode {list(self.stream_mode)} -> {list(live.stream_mode)}")
        if self.subgraphs != live.subgraphs:
            found.append(f"stream_subgraphs {self.subgraphs} -> {live.subgraphs}")
        return found


def narrows(recorded: RunKey, live: RunKey) -> bool:
    """Whether ``live`` asks for the ``recorded`` run in fewer of its stream modes (served as
    the recording filtered to them)."""
    return set(live.stream_mode) < set(recorded.stream_mode) and (
        replace(recorded, stream_mode=live.stream_mode) == live
    )


def run_key(body: Any) -> RunKey:
    """The key of a run-creating request body (a JSON object; anything else keys as empty)."""
    if not isinstance(body, dict):
        body = {}
    return RunKey(
        assistant_id=canonical_assistant(body.get("assistant_id")),
        input=body.get("input"),
        command=body.get("command"),
        stream_mode=stream_modes(body.get("stream_mode")),
        subgraphs=bool(body.get("stream_subgraphs")),
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """One recorded interaction and where it sits in the library."""

    cassette: str  # the cassette's name: its path under the folder, without ``.json``
    index: int  # position in its cassette
    position: int  # position in the whole library (cassettes in name order)
    interaction: Interaction
    thread_id: str | None  # from the path, or the thread a ``POST /threads`` created
    run_id: str | None  # from the path, or the Content-Location of a run response

    @property
    def request(self) -> RecordedRequest:
        return self.interaction.request

    @property
    def label(self) -> str:
        """``joke-values-1#3``: what the ``x-streamcassette-recording`` header shows."""
        return f"{self.cassette}#{self.index}"


@dataclass(frozen=True, slots=True)
class RecordedRun:
    """A recorded streamed run, keyed for matching."""

    entry: Entry
    kind: RunKind
    key: RunKey
    assistant: str  # as the recording's client named it, for messages and listings
    body: Any

    @property
    def frames(self) -> Sequence[RecordedFrame]:
        response = self.entry.interaction.response
        assert response is not None
        assert response.stream is not None
        return response.stream.frames

    def summary(self) -> dict[str, Any]:
        """A JSON description, as listed by ``GET /cassettes`` and in error bodies."""
        response = self.entry.interaction.response
        assert response is not None
        assert response.stream is not None
        summary: dict[str, Any] = {
            "cassette": self.entry.cassette,
            "interaction": self.entry.index,
            "request": self.entry.request.describe(),
            "assistant_id": self.assistant,
            "input": self.key.input,
        }
        if self.key.command is not None:
            summary["command"] = self.key.command
        summary.update(
            {
                "stream_mode": list(self.key.stream_mode),
                "stream_subgraphs": self.key.subgraphs,
                "thread_id": self.entry.thread_id,
                "run_id": self.entry.run_id,
                "frames": len(response.stream.frames),
                "end": response.stream.end.value,
            }
        )
        return summary

    def describe(self) -> str:
        """One line for consoles and error messages."""
        text = (
            f"{self.entry.label}: {self.entry.request.describe()} "
            f"assistant_id={self.assistant!r} input={_clip(self.key.input)}"
        )
        if self.key.command is not None:
            text += f" command={_clip(self.key.command)}"
        text += f" stream_mode={list(self.key.stream_mode)}"
        if self.key.subgraphs:
            text += " stream_subgraphs=True"
        return text + f" ({len(self.frames)} frames)"


class Library:
    """Recorded interactions of one or more cassettes, indexed for serving.

    Cassettes are ordered by when they were recorded (``provenance.recorded_at``), then by
    name; ``Entry.position`` follows that order and each cassette's own order, so "earlier"
    and "later" mean the same everywhere, and a session recorded as several cassettes
    replays in the order it happened.
    """

    def __init__(self, cassettes: dict[str, Cassette], source: Path | None = None) -> None:
        self.source = source
        self.cassettes = dict(sorted(cassettes.items(), key=_recording_order))
        self.entries: list[Entry] = []
        self.runs: list[RecordedRun] = []
        for name, cassette in self.cassettes.items():
            for index, interaction in enumerate(cassette.interactions):
                entry = _entry(name, index, len(self.entries), interaction)
                self.entries.append(entry)
                run = _run(entry)
                if run is not None:
                    self.runs.append(run)

    @classmethod
    def load(cls, source: Path | str) -> Library:
        """A library of one cassette file, or of every ``*.json`` under a folder.

        Hidden folders and files (``.git``, ``.langgraph_api``) are left out.
        """
        path = Path(source)
        if path.is_file():
            return cls({path.stem: load(path)}, source=path)
        if path.is_dir():
            files = sorted(
                found
                for found in path.rglob("*.json")
                if found.is_file()
                and not any(part.startswith(".") for part in found.relative_to(path).parts)
            )
            if not files:
                msg = f"{path}: no cassettes (*.json) in this folder; record some first"
                raise LibraryError(msg)
            cassettes = {
                file.relative_to(path).with_suffix("").as_posix(): load(file) for file in files
            }
            return cls(cassettes, source=path)
        msg = f"{path}: no such cassette or folder"
        raise LibraryError(msg)

    # -- what exists ----------------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return list(self.cassettes)

    def in_scope(self, scope: str | None) -> Iterator[Entry]:
        for entry in self.entries:
            if scope is None or entry.cassette == scope:
                yield entry

    def runs_in(self, scope: str | None) -> list[RecordedRun]:
        return [run for run in self.runs if scope is None or run.entry.cassette == scope]

    def listing(self, scope: str | None = None) -> list[dict[str, Any]]:
        """Each cassette with its runs, as ``GET /cassettes`` and error bodies show them."""
        listing = []
        for name, cassette in self.cassettes.items():
            if scope is not None and name != scope:
                continue
            listing.append(
                {
                    "cassette": name,
                    "path": str(cassette.path) if cassette.path is not None else None,
                    "interactions": len(cassette.interactions),
                    "runs": [run.summary() for run in self.runs_in(name)],
                }
            )
        return listing

    # -- matching -------------------------------------------------------------------------

    def candidate_runs(
        self,
        kind: RunKind,
        thread_id: str | None,
        body: Any,
        scope: str | None,
        align: Callable[[RecordedRun], tuple[str | None, Any] | None] | None = None,
    ) -> list[RecordedRun]:
        """The recorded runs with the request's key that fit it best, in library order.

        Preferred, in order: a run on the requested thread, a run of the same kind (thread
        or stateless), a run in exactly the stream modes asked (else one recorded in more of
        them), a recorded body equal to this one. Empty when no run has the key.
        ``align`` gives the request's thread and body in a recorded run's ids (the ids the
        client minted, bound to the recorded ones), or ``None`` when they cannot be bound.
        """

        def asked(run: RecordedRun) -> tuple[str | None, Any] | None:
            return (thread_id, body) if align is None else align(run)

        ranked: list[tuple[tuple[bool, bool, bool, bool], RecordedRun]] = []
        for run in self.runs_in(scope):
            found = asked(run)
            if found is None:
                continue
            live_key = run_key(found[1])
            if run.key != live_key and not narrows(run.key, live_key):
                continue
            live_thread, live_body = found
            rank = (
                live_thread is None or run.entry.thread_id != live_thread,
                run.kind != kind,
                run.key != live_key,
                run.body != live_body,
            )
            ranked.append((rank, run))
        if not ranked:
            return []
        best = min(rank for rank, _ in ranked)
        return [run for rank, run in ranked if rank == best]

    def closest_runs(self, body: Any, scope: str | None, limit: int = 3) -> list[str]:
        """The recorded runs nearest to a request body's key, with how each differs."""
        key = run_key(body)
        asked = body.get("assistant_id") if isinstance(body, dict) else None
        # Runs of the same assistant first, then by how many things differ.
        ranked = sorted(
            (
                (run.key.assistant_id != key.assistant_id, len(found), run.entry.position, found)
                for run in self.runs_in(scope)
                if (found := run.key.differences(key, (run.assistant, asked)))
            ),
        )
        runs = {run.entry.position: run for run in self.runs_in(scope)}
        return [
            f"{runs[position].describe()}: {'; '.join(found)}"
            for _, _, position, found in ranked[:limit]
        ]

    def run_by_id(self, run_id: str, scope: str | None) -> RecordedRun | None:
        for run in self.runs_in(scope):
            if run.entry.run_id == run_id:
                return run
        return None

    def recorded_joins(self, run_id: str, scope: str | None) -> list[Entry]:
        """Recorded ``GET …/runs/{run_id}/stream`` interactions, in library order."""
        found = []
        for entry in self.in_scope(scope):
            request = entry.request
            if (
                request.method == "GET"
                and JOIN_PATH.match(request.path)
                and entry.interaction.is_stream
                and entry.run_id == run_id
            ):
                found.append(entry)
        return found

    def candidate_entries(
        self,
        method: str,
        paths: Sequence[str],
        query: list[tuple[str, str]],
        body: Any,
        scope: str | None,
    ) -> list[Entry]:
        """Recorded interactions with the request's method and one of ``paths``, best first.

        ``paths`` are tried in order (a thread and the thread it stands for). Among one
        path's interactions, those with the same query and then the same JSON body come
        first; the caller picks between equals by where the thread has got to.
        """
        ranked: list[tuple[int, bool, bool, int, Entry]] = []
        upper = method.upper()
        wanted_query = sorted(query)
        for entry in self.in_scope(scope):
            request = entry.request
            if request.method.upper() != upper or request.path not in paths:
                continue
            if entry.interaction.response is None:
                continue
            recorded_body = request.body.json_or_none() if request.body else None
            ranked.append(
                (
                    paths.index(request.path),
                    sorted(request.query) != wanted_query,
                    recorded_body != body,
                    entry.position,
                    entry,
                )
            )
        ranked.sort(key=lambda item: item[:4])
        if not ranked:
            return []
        best = ranked[0][:3]
        return [item[4] for item in ranked if item[:3] == best]

    def same_path(self, path: str, scope: str | None) -> list[Entry]:
        """Every recorded interaction on ``path``, whatever its method (for error messages)."""
        return [entry for entry in self.in_scope(scope) if entry.request.path == path]


def _recording_order(item: tuple[str, Cassette]) -> tuple[bool, datetime.datetime, str]:
    name, cassette = item
    when = cassette.provenance.get("recorded_at")
    try:
        recorded = datetime.datetime.fromisoformat(str(when))
    except ValueError:
        return (True, _EPOCH, name)  # undated cassettes after the dated ones, by name
    if recorded.tzinfo is None:
        recorded = recorded.replace(tzinfo=datetime.timezone.utc)
    return (False, recorded, name)


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def _entry(name: str, index: int, position: int, interaction: Interaction) -> Entry:
    request = interaction.request
    thread_id: str | None = None
    run_id: str | None = None
    if match := THREAD_PATH.match(request.path):
        thread_id = match.group(1)
    if match := JOIN_PATH.match(request.path):
        run_id = match.group(2)
    elif (match := RUN_PATH.match(request.path)) and match.group(1) not in NOT_RUN_IDS:
        run_id = match.group(1)
    response = interaction.response
    if response is not None:
        location = response.header("content-location") or ""
        if match := RUN_LOCATION.match(location):
            thread_id = thread_id or match.group(1)
            run_id = run_id or match.group(2)
        if request.method.upper() == "POST" and request.path == "/threads" and response.body:
            created = response.body.json_or_none()
            if isinstance(created, dict) and isinstance(created.get("thread_id"), str):
                thread_id = created["thread_id"]
    return Entry(name, index, position, interaction, thread_id, run_id)


def _run(entry: Entry) -> RecordedRun | None:
    request = entry.request
    if request.method.upper() != "POST" or not entry.interaction.is_stream:
        return None
    match = RUN_STREAM_PATH.match(request.path)
    if match is None:
        return None
    body = request.body.json_or_none() if request.body else None
    assistant = body.get("assistant_id") if isinstance(body, dict) else None
    return RecordedRun(
        entry=entry,
        kind="thread" if match.group(1) else "stateless",
        key=run_key(body),
        assistant=str(assistant),
        body=body,
    )


def _clip(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= 80 else text[:77] + "..."
