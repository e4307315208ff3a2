"""The replay server: an ASGI app that answers LangGraph API requests from cassettes.

How a request is answered:

* ``POST /threads/{thread_id}/runs/stream`` and ``POST /runs/stream`` pick a recorded run by
  its key (assistant, input, command, stream modes, subgraphs); see
  :meth:`Library.candidate_runs` for the preferences between several.
* ``GET /threads/{thread_id}/runs/{run_id}/stream`` (a join) plays a recorded join with the
  same ``Last-Event-ID`` and ``stream_mode``; without one, it plays the run's own recorded
  stream from after ``Last-Event-ID`` (in the order of the server that recorded it: see
  ``_resume``), filtered by ``stream_mode`` as the server filters. A join with no
  ``Last-Event-ID`` gets what both servers send: the frames still to come while the run
  streams here, nothing once it is over.
* Anything else plays a recorded interaction with the same method and path; the same query
  and body are preferred. ``POST /threads`` with nothing recorded answers with a new idle
  thread whose id is the thread of a recorded run, so "create a thread, then stream" works.
* When several recordings fit equally, a thread's requests move forward through them: the
  first one recorded after the thread's last answered interaction (requests on no thread
  share one such position). Past the last one, a request that starts something (``POST
  /threads``, a run) starts over from the first, any other gets the last again. So ``GET
  …/state`` after a run returns the state recorded after that run, and a folder recorded
  as one session replays its threads and runs in the order they were recorded.
* A run on thread ``X`` answered from a recording on thread ``Y`` makes later requests on
  ``/threads/X/…`` try ``/threads/Y/…`` first.

Select a cassette with the ``/cassettes/{name}`` URL prefix (give the SDK
``http://host:port/cassettes/{name}`` as its URL) or the ``x-streamcassette-cassette`` header.
``GET /cassettes`` lists the cassettes and their runs, ``GET /cassettes/{name}`` one of them.
What cannot be answered gets a LangGraph-style ``{"detail": ...}`` 404 that names the
recorded runs.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio
import orjson
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from .._cassette import RecordedFrame, RecordedRequest, RecordedResponse, StreamEnd
from ..protocols.runs import (
    JOIN_PATH,
    RUN_STREAM_PATH,
    THREAD_PATH,
    join_stream_modes,
    mode_matches,
)
from ._aliases import Alignment, ThreadBindings, align, live_request
from ._library import Entry, Library, RecordedRun, RunKind, run_key
from ._limits import DEFAULT_MAX_BODY, ECHO_CHARS, BodyTooLarge, clip, read_body, too_large
from ._resume import ServerKind, recording_server, resumes_after
from ._threads import ThreadProtocol
from ._world import World

__all__ = [
    "CASSETTE_HEADER",
    "RECORDING_HEADER",
    "RecordedAnswer",
    "ReplayServer",
    "ReplayedDropError",
    "replay_app",
]

CASSETTE_HEADER = "x-streamcassette-cassette"
RECORDING_HEADER = "x-streamcassette-recording"
_PREFIX = "/cassettes"
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
# Set by the server that sends the response, or meaningless once replayed.
_DROPPED_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "connection", "keep-alive", "date", "server"}
)
# As langgraph-api exposes them: the browser sees a run's Content-Location, not its Location
# (a page that could read Location would ask for the run itself, which the server never
# let it do).
# Events a run stream carries whatever its stream modes; a join sends only the modes it asks.
_ALWAYS = frozenset({"metadata", "error", "end"})
_JOINED: frozenset[str] = frozenset()
_EXPOSED_HEADERS = ["x-pagination-total", "x-pagination-next", "content-location"]


class ReplayedDropError(ConnectionError):
    """Raised inside the server to cut a connection where the recording's connection broke."""


class RecordedAnswer(Response):
    """A recorded response sent as recorded: the body's bytes, or the frames with their timing.

    ``speed=None`` sends frames at once; ``1.0`` keeps the recorded gaps; ``X`` divides them.
    """

    def __init__(
        self,
        response: RecordedResponse,
        label: str,
        *,
        speed: float | None,
        frames: Sequence[RecordedFrame] | None = None,
        rewrite: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.recorded = response
        self.rewrite = rewrite if rewrite is not None else _unchanged
        self.speed = speed
        self.stream = response.stream
        self.frames = list(frames) if frames is not None else None
        self.status_code = response.status
        self.background = None
        headers = [
            (key.lower().encode("latin-1"), self.rewrite(_header_value(value)))
            for key, value in response.headers
            if key.lower() not in _DROPPED_HEADERS
        ]
        headers.append((RECORDING_HEADER.encode(), _header_value(label)))
        self.body = b""
        if self.stream is None:
            self.body = self.rewrite(response.body.content) if response.body is not None else b""
            headers.append((b"content-length", str(len(self.body)).encode()))
        self.raw_headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        if self.stream is None:
            await send({"type": "http.response.body", "body": self.body, "more_body": False})
            return
        finished = False
        async with anyio.create_task_group() as group:

            async def watch_disconnect() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()

            group.start_soon(watch_disconnect)
            await self._send_frames(send)
            if self.stream.end is StreamEnd.CLIENT_STOPPED:
                # The server never ended this response, its client left: the recording has
                # nothing further, so hold it open until this client leaves too.
                await anyio.sleep_forever()
            finished = True
            group.cancel_scope.cancel()
        if not finished:
            return  # the client went away
        if self.stream.end is StreamEnd.DROPPED and self.frames is None:
            # Cut the connection, as it was cut while recording: the client sees an
            # incomplete body, and the SDKs reconnect to the run's Location.
            error = self.stream.error
            reason = f"{error.type}: {error.message}" if error is not None else "dropped"
            msg = f"replaying a connection that broke while recording ({reason})"
            raise ReplayedDropError(msg)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _send_frames(self, send: Send) -> None:
        assert self.stream is not None
        frames = self.frames if self.frames is not None else self.stream.frames
        speed = self.speed
        start = anyio.current_time()
        for at, raw in frames:
            if speed is not None:
                delay = start + at / speed - anyio.current_time()
                if delay > 0:
                    await anyio.sleep(delay)
            await send({"type": "http.response.body", "body": self.rewrite(raw), "more_body": True})
        if self.frames is None and self.stream.tail:
            tail = self.rewrite(self.stream.tail)
            await send({"type": "http.response.body", "body": tail, "more_body": True})


class ReplayServer:
    """Answers requests from a :class:`Library`; one instance per app (it keeps thread cursors)."""

    def __init__(
        self, library: Library, *, speed: float | None = 1.0, max_body: int = DEFAULT_MAX_BODY
    ) -> None:
        if speed is not None and speed <= 0:
            msg = f"speed must be positive (or None for instant), got {speed!r}"
            raise ValueError(msg)
        self.library = library
        self.speed = speed
        self.max_body = max_body
        # thread id (None: requests on no thread) -> position of the last answered entry
        self.cursor: dict[str | None, int] = {}
        # thread asked for -> recorded thread whose run answered it
        self.aliases: dict[str, str] = {}
        # ids the client minted, bound to the recorded ones per live thread
        self.bindings = ThreadBindings()
        # the v3 thread protocol, with the same id bindings per live thread
        self.threads = ThreadProtocol(
            library, speed=speed, bindings=self.bindings, aliases=self.aliases
        )
        # threads, runs and assistants as the client has seen them, for synthesized answers
        # (thread search lists the v3 protocol's threads too)
        self.world = World(library, other_threads=self.threads.thread_infos)

    # -- entry point ----------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        scope, path = self._scope(request)
        if isinstance(path, Response):
            return path
        method = request.method.upper()
        if self.threads.claims(method, path):
            return await self.threads.handle(request, path, scope)
        try:
            content = await read_body(request, self.max_body)
        except BodyTooLarge:
            return too_large("streamcassette serve", self.max_body, "--max-body-mib")
        body = _json_or_none(content)
        if content.strip() and body is None and content.lstrip()[:1] in (b"{", b"["):
            detail = (
                "streamcassette serve: the request body is not valid JSON "
                f"({clip(repr(content[:ECHO_CHARS]))}); LangGraph API requests send JSON"
            )
            return JSONResponse({"detail": detail}, status_code=422)
        query = list(request.query_params.multi_items())
        listing = path in ("/cassettes", "/cassettes/") or (path == "/" and scope is not None)
        if method == "GET" and listing:
            return JSONResponse({"cassettes": self.library.listing(scope)})
        if method == "GET" and path == "/ok":
            return JSONResponse({"ok": True})
        if method == "POST" and (match := RUN_STREAM_PATH.match(path)):
            live = live_request(method, path, query, request.headers.items(), content)
            return self._run(match.group(1), path, body, scope, live)
        if method == "GET" and (match := JOIN_PATH.match(path)):
            last_event_id = request.headers.get("last-event-id") or None
            return self._join(match.group(1), match.group(2), path, query, last_event_id, scope)
        return self._plain(method, path, query, body, scope)

    async def websocket(self, websocket: WebSocket) -> None:
        """WebSocket connections: the v3 protocol's event streams."""
        scope, path = self._scope(websocket)
        if isinstance(path, Response):
            await websocket.close(code=1008, reason="no such cassette")
            return
        await self.threads.websocket(websocket, path, scope)

    def _scope(self, request: Request | WebSocket) -> tuple[str | None, str | Response]:
        path = request.url.path
        names = self.library.names
        header = request.headers.get(CASSETTE_HEADER)
        if path.startswith(_PREFIX + "/") and path.strip("/") != _PREFIX.strip("/"):
            rest = path[len(_PREFIX) :]
            for name in sorted(names, key=len, reverse=True):
                prefix = "/" + name
                if rest == prefix or rest.startswith(prefix + "/"):
                    return name, rest[len(prefix) :] or "/"
            unknown = rest.strip("/").split("/")[0]
            return None, self._unknown_cassette(unknown)
        if header is not None:
            if header not in names:
                return None, self._unknown_cassette(header)
            return header, path
        return None, path

    def _unknown_cassette(self, name: str) -> Response:
        detail = (
            f"streamcassette serve: no cassette named {name!r}; cassettes: "
            f"{', '.join(map(repr, self.library.names))}. Select one with the URL prefix "
            f"{_PREFIX}/<name> or the {CASSETTE_HEADER} header."
        )
        return _error(404, detail, self.library.listing())

    # -- runs -----------------------------------------------------------------------------

    def _run(
        self, thread_id: str | None, path: str, body: Any, scope: str | None, live: RecordedRequest
    ) -> Response:
        kind: RunKind = "thread" if thread_id is not None else "stateless"
        alignments: dict[int, Alignment] = {}
        ids = self.bindings.session(thread_id)

        def aligned(run: RecordedRun) -> tuple[str | None, Any] | None:
            found = align(ids, live, run.entry.request)
            if found is None:
                return None
            alignments[run.entry.position] = found
            translated = found[0]
            match = RUN_STREAM_PATH.match(translated.path)
            asked = translated.body.json_or_none() if translated.body is not None else None
            return (match.group(1) if match else None), asked

        candidates = self.library.candidate_runs(kind, thread_id, body, scope, aligned)
        if not candidates:
            return self._no_run(path, body, scope)
        run = self._pick([run.entry for run in candidates], thread_id, again="first")
        ids.commit(alignments[run.position][1])
        picked = next(c for c in candidates if c.entry is run)
        self.world.run_served(thread_id, picked, self.speed)
        if thread_id is not None and run.thread_id is not None and run.thread_id != thread_id:
            self.aliases[thread_id] = run.thread_id
        self._advance(run, thread_id)
        assert run.interaction.response is not None
        modes = list(run_key(body).stream_mode)
        frames = None if list(picked.key.stream_mode) == modes else _filtered(picked.frames, modes)
        return RecordedAnswer(
            run.interaction.response,
            run.label + (f" filtered to {modes}" if frames is not None else ""),
            speed=self.speed,
            frames=frames,
            rewrite=ids.to_live_bytes,
        )

    def _no_run(self, path: str, body: Any, scope: str | None) -> Response:
        fields = body if isinstance(body, dict) else {}
        asked = ", ".join(
            f"{name}={fields.get(name)!r}"
            for name in ("assistant_id", "input", "command", "stream_mode", "stream_subgraphs")
            if fields.get(name) is not None
        )
        lines = [
            f"streamcassette serve: no recorded run matches POST {path} ({asked or 'no body'})"
        ]
        lines.extend(self._other_resumes(fields.get("command"), scope))
        closest = self.library.closest_runs(body, scope)
        if closest:
            lines.append("closest recorded runs:")
            lines.extend(f"  {line}" for line in closest)
        else:
            lines.append(f"no runs are recorded{_in(scope)}")
        lines.append(
            "to fix: record this run (e.g. through `streamcassette proxy`), or ask for a "
            "recorded one (GET /cassettes lists them)"
        )
        return _error(404, "\n".join(lines), self.library.listing(scope))

    def _other_resumes(self, command: Any, scope: str | None) -> list[str]:
        """At a recorded interrupt, only the recorded answer continues the demo: name it."""
        if not isinstance(command, dict) or "resume" not in command:
            return []
        recorded = [
            run.key.command["resume"]
            for run in self.library.runs_in(scope)
            if isinstance(run.key.command, dict) and "resume" in run.key.command
        ]
        if not recorded or command["resume"] in recorded:
            return []
        resumes = " or ".join(map(repr, recorded))
        return [f"the recorded run resumes with {resumes}, this request with {command['resume']!r}"]

    def _join(
        self,
        thread_id: str | None,
        run_id: str,
        path: str,
        query: list[tuple[str, str]],
        last_event_id: str | None,
        scope: str | None,
    ) -> Response:
        modes = join_stream_modes(query)
        recorded = [
            entry
            for entry in self.library.recorded_joins(run_id, scope)
            if entry.request.header("last-event-id") == last_event_id
            and join_stream_modes(entry.request.query) == modes
        ]
        if recorded:
            entry = self._pick(recorded, recorded[0].thread_id)
            self._advance(entry, None)
            assert entry.interaction.response is not None
            return RecordedAnswer(
                entry.interaction.response,
                entry.label,
                speed=self.speed,
                rewrite=self.bindings.session(thread_id).to_live_bytes,
            )
        run = self.library.run_by_id(run_id, scope)
        if run is None:
            detail = (
                f"streamcassette serve: no recorded run has id {run_id!r} (GET {path}); "
                "to fix: join a recorded run (GET /cassettes lists their ids)"
            )
            return _error(404, detail, self.library.listing(scope))
        if last_event_id is None:
            # Both servers send a join with no Last-Event-ID what the run streams from now on:
            # nothing once it is over, the rest while it runs (served here, at its speed).
            live_run = self.world.running_run(thread_id, run_id)
            played = live_run.played() if live_run is not None else math.inf
            frames = _from_now(run, played, modes)
            label = f"{run.entry.label} joined " + (
                f"at {played:.3f} s" if live_run is not None else "after its end"
            )
        else:
            provenance = self.library.cassettes[run.entry.cassette].provenance
            server = recording_server(provenance, run.frames)
            frames = _resumed(run, last_event_id, modes, server)
            label = f"{run.entry.label} joined after {last_event_id}"
        self._advance(run.entry, None)
        assert run.entry.interaction.response is not None
        return RecordedAnswer(
            run.entry.interaction.response,
            label,
            speed=self.speed,
            frames=frames,
            rewrite=self.bindings.session(thread_id).to_live_bytes,
        )

    # -- everything else ------------------------------------------------------------------

    def _plain(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        body: Any,
        scope: str | None,
    ) -> Response:
        thread_id = match.group(1) if (match := THREAD_PATH.match(path)) else None
        paths = [path]
        alias = self.aliases.get(thread_id) if thread_id is not None else None
        if thread_id is not None and alias is not None:
            paths.insert(0, f"/threads/{alias}{path[len('/threads/') + len(thread_id) :]}")
        candidates = self.library.candidate_entries(method, paths, query, body, scope)
        if self.world.streaming(method, path):
            # Its run is still streaming here: the recording read the status at another
            # point of the run; the world knows it now (busy, running).
            candidates = []
        if candidates:
            starts = method == "POST" and path == "/threads"
            # Where this live thread has got to (a thread never run here: its recording's).
            known = thread_id is not None and thread_id in self.cursor
            entry = self._pick(
                candidates,
                thread_id if known else (candidates[0].thread_id if thread_id else None),
                again="first" if starts else "last",
            )
            self._advance(entry, thread_id)
            live_thread = thread_id
            if starts:
                live_thread = self._thread_created(entry, body)
            assert entry.interaction.response is not None
            return RecordedAnswer(
                entry.interaction.response,
                entry.label,
                speed=self.speed,
                rewrite=self.bindings.session(live_thread).to_live_bytes,
            )
        if method == "POST" and path == "/threads":
            return self._new_thread(body, scope)
        synthesized = self.threads.history(method, path, body) or self.world.answer(
            method, path, query, body, scope, self.bindings.session(thread_id).to_live_bytes
        )
        if synthesized is not None:
            return synthesized
        return self._no_answer(method, path, query, scope)

    def _thread_created(self, entry: Entry, body: Any) -> str | None:
        """The live thread a recorded ``POST /threads`` answer created: the recorded one, the
        id the client chose, or (the recorded thread is already some client's) a fresh one;
        the latter two stand for the recorded one, so each visitor of a demo has its own."""
        asked = body.get("thread_id") if isinstance(body, dict) else None
        live = asked if isinstance(asked, str) else entry.thread_id
        if live is None:
            return None
        if live in self.world.created and not isinstance(asked, str):
            live = str(uuid.uuid4())
        if entry.thread_id is not None and live != entry.thread_id:
            self.bindings.bind(live, entry.thread_id)
            self.aliases[live] = entry.thread_id
        self.cursor[live] = entry.position
        self.world.thread(live, created=True)
        return live

    def _new_thread(self, body: Any, scope: str | None) -> Response:
        """A thread for "create, then stream", when no thread creation was recorded."""
        created = self.world.create_thread(body, scope)
        if created is None:
            detail = (
                f"streamcassette serve: no thread creation is recorded{_in(scope)}, and no run "
                "on a thread to stand in for one; to fix: record `POST /threads` with the runs"
            )
            return _error(404, detail, self.library.listing(scope))
        recorded, thread = created
        if thread["thread_id"] != recorded:
            self.bindings.bind(thread["thread_id"], recorded)
        self.cursor[thread["thread_id"]] = -1
        return JSONResponse(thread, headers={RECORDING_HEADER: "new thread (none recorded)"})

    def _no_answer(
        self, method: str, path: str, query: list[tuple[str, str]], scope: str | None
    ) -> Response:
        described = f"{method} {path}" + (
            "?" + "&".join(f"{key}={value}" for key, value in query) if query else ""
        )
        lines = [f"streamcassette serve: no recorded interaction answers {described}"]
        nearby = self.library.same_path(path, scope)
        if nearby:
            lines.append("recorded on this path:")
            lines.extend(f"  {entry.label}: {entry.request.describe()}" for entry in nearby[:5])
        else:
            lines.append(
                f"nothing is recorded on this path{_in(scope)} "
                f"({_count(len(self.library.entries), 'interaction')} in "
                f"{_count(len(self.library.names), 'cassette')}; GET /cassettes lists their runs)"
            )
        lines.append(
            "to fix: record this request along with the run (e.g. through `streamcassette proxy`)"
        )
        return _error(404, "\n".join(lines), self.library.listing(scope))

    # -- order ----------------------------------------------------------------------------

    def _pick(self, entries: Sequence[Entry], thread_id: str | None, again: str = "last") -> Entry:
        """The first entry after the thread's last answered one; past the end, ``again``."""
        after = self.cursor.get(thread_id, -1)
        for entry in entries:
            if entry.position > after:
                return entry
        return entries[0] if again == "first" else entries[-1]

    def _advance(self, entry: Entry, thread_id: str | None) -> None:
        self.cursor[thread_id] = entry.position
        if entry.thread_id is not None:
            self.cursor[entry.thread_id] = entry.position


def _filtered(
    frames: Sequence[RecordedFrame], modes: list[str], always: frozenset[str] = _ALWAYS
) -> list[RecordedFrame]:
    """The frames in ``modes`` only, with their timing; a run stream's ``metadata``,
    ``error`` and ``end`` events (``always``) come whatever the modes, and so do comments."""
    kept = []
    for frame in frames:
        parsed = frame.parse()
        event = parsed.event or "message"
        if parsed.is_event and event not in always and not mode_matches(event, modes):
            continue
        kept.append(frame)
    return kept


def _resumed(
    run: RecordedRun, last_event_id: str, modes: list[str], server: ServerKind
) -> list[RecordedFrame]:
    """The frames a join after ``last_event_id`` gets, re-timed to start at once."""
    after = resumes_after(server, last_event_id)
    kept = [frame for frame in _filtered(run.frames, modes, _JOINED) if after(frame.parse().id)]
    if not kept:
        return kept
    start = kept[0].at
    return [RecordedFrame(frame.at - start, frame.raw) for frame in kept]


def _from_now(run: RecordedRun, played: float, modes: list[str]) -> list[RecordedFrame]:
    """The frames a join with no ``Last-Event-ID`` gets when the served stream is ``played``
    recorded seconds in: the ones still to come, at the moments they come."""
    return [
        RecordedFrame(frame.at - played, frame.raw)
        for frame in _filtered(run.frames, modes, _JOINED)
        if frame.at > played
    ]


def _unchanged(data: bytes) -> bytes:
    return data


def _header_value(value: str) -> bytes:
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _json_or_none(content: bytes) -> Any:
    if not content:
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:  # also JSON nested past orjson's 1024 levels
        return None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _in(scope: str | None) -> str:
    return f" in cassette {scope!r}" if scope is not None else ""


def _error(status: int, detail: str, recordings: list[dict[str, Any]]) -> JSONResponse:
    """A LangGraph-style error body, with the recordings that do exist. Each line of the
    detail is clipped: it may echo what the client sent."""
    detail = "\n".join(clip(line) for line in detail.split("\n"))
    return JSONResponse({"detail": detail, "recordings": recordings}, status_code=status)


def replay_app(
    source: Library | Path | str,
    *,
    speed: float | None = 1.0,
    cors: bool = True,
    max_body: int = DEFAULT_MAX_BODY,
) -> Starlette:
    """An ASGI app serving the cassette or folder ``source`` as a LangGraph API server;
    request bodies over ``max_body`` bytes get a 413."""
    library = source if isinstance(source, Library) else Library.load(source)
    server = ReplayServer(library, speed=speed, max_body=max_body)
    middleware = []
    if cors:
        # Front ends on another origin (a dev server on :3000) call the API from the browser.
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=["*"],
                allow_methods=["*"],
                allow_headers=["*"],
                expose_headers=_EXPOSED_HEADERS,
            )
        )
    app = Starlette(
        routes=[
            Route("/{path:path}", server.handle, methods=_METHODS),
            WebSocketRoute("/{path:path}", server.websocket),
        ],
        middleware=middleware,
    )
    app.state.replay = server
    return app
