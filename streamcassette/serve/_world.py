"""The world a front end sees through ``serve``: threads, their state, runs and assistants,
synthesized from what the recorded runs streamed wherever no recorded answer exists.

A chat page asks for more than the runs it streams: it creates threads (sometimes with ids
it chose), reads a thread's state and history after a reload, lists and reads runs, cancels
one, searches assistants, reads ``/info``. A recording holds some of those answers; the rest
follow from the runs themselves: the last ``values`` event of a run is the thread's state
after it, a ``__interrupt__`` in it is a pending interrupt, ``checkpoints`` events (when
streamed) are the thread's history. :class:`World` keeps, per live thread, the runs served on
it, and answers in langgraph-api's shapes. Recorded answers always win; ``_app`` asks the
world only when none fits.
"""

from __future__ import annotations

import datetime
import math
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.responses import Response

from ._library import Library, RecordedRun, canonical_assistant

__all__ = ["LiveRun", "LiveThread", "RunOutcome", "World", "thread_state"]

_THREAD = re.compile(r"^/threads/([^/]+)$")
_THREAD_STATE = re.compile(r"^/threads/([^/]+)/state$")
_THREAD_HISTORY = re.compile(r"^/threads/([^/]+)/history$")
_THREAD_RUNS = re.compile(r"^/threads/([^/]+)/runs$")
_THREAD_RUN = re.compile(r"^/threads/([^/]+)/runs/([^/]+)$")
_RUN_CANCEL = re.compile(r"^/threads/([^/]+)/runs/([^/]+)/cancel$")
_ASSISTANT = re.compile(r"^/assistants/([^/]+)$")


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


@dataclass(frozen=True)
class RunOutcome:
    """What a recorded run streamed, as a thread's state: the last values, the interrupts
    pending at its end, its checkpoints (newest last), and whether it failed."""

    run_id: str | None
    values: dict[str, Any] | None
    interrupts: list[dict[str, Any]]
    checkpoints: list[dict[str, Any]]
    error: Any

    @classmethod
    def of(cls, run: RecordedRun) -> RunOutcome:
        run_id = run.entry.run_id
        values: dict[str, Any] | None = None
        interrupts: list[dict[str, Any]] = []
        checkpoints: list[dict[str, Any]] = []
        error: Any = None
        for frame in run.frames:
            parsed = frame.parse()
            if not parsed.is_event or parsed.data is None:
                continue
            # A subgraph's events (``values|sub:…``) are not the thread's own state.
            event = parsed.event or ""
            if event not in ("metadata", "values", "updates", "checkpoints", "error"):
                continue
            try:
                data = orjson.loads(parsed.data)
            except orjson.JSONDecodeError:
                continue
            if event == "metadata" and isinstance(data, dict) and run_id is None:
                run_id = data.get("run_id")
            elif event == "values" and isinstance(data, dict):
                found = data.get("__interrupt__")
                interrupts = list(found) if isinstance(found, list) else []
                # At an interrupt the server sends the interrupt alone; the state stays.
                state = {key: value for key, value in data.items() if key != "__interrupt__"}
                if state or found is None:
                    values = state
            elif event == "updates" and isinstance(data, dict):
                found = data.get("__interrupt__")
                if isinstance(found, list):
                    interrupts = list(found)
            elif event == "checkpoints" and isinstance(data, dict):
                checkpoints.append(data)
            elif event == "error":
                error = data
        return cls(run_id, values, interrupts, checkpoints, error)

    @property
    def status(self) -> str:
        """The run's status as langgraph-api reports it once the run is over."""
        return "error" if self.error is not None else "success"


@dataclass
class LiveRun:
    """A run served on a live thread."""

    run_id: str
    recorded: RecordedRun
    outcome: RunOutcome
    created_at: str = field(default_factory=_now)
    cancelled: bool = False
    # when its served stream started (``time.monotonic()``), at what speed (``None``: at once)
    started: float = field(default_factory=time.monotonic)
    speed: float | None = None

    def played(self) -> float:
        """How far into the recorded stream the served one is, in recorded seconds."""
        if self.speed is None:
            return math.inf
        return (time.monotonic() - self.started) * self.speed

    @property
    def running(self) -> bool:
        """Until its served stream plays its last frame, as the server's run runs while it
        streams."""
        frames = self.recorded.frames
        return not self.cancelled and bool(frames) and self.played() < frames[-1].at

    @property
    def status(self) -> str:
        """As langgraph-api reports it: running while it streams, then how it ended (a
        run that stopped at an interrupt succeeded; a cancelled one was interrupted)."""
        if self.cancelled:
            return "interrupted"
        return "running" if self.running else self.outcome.status

    def as_json(self, thread_id: str) -> dict[str, Any]:
        body = self.recorded.body if isinstance(self.recorded.body, dict) else {}
        status = self.status
        return {
            "run_id": self.run_id,
            "thread_id": thread_id,
            "assistant_id": self.recorded.key.assistant_id,
            "created_at": self.created_at,
            "updated_at": self.created_at,
            "status": status,
            "metadata": body.get("metadata") or {},
            "kwargs": {
                "input": body.get("input"),
                "command": body.get("command"),
                "stream_mode": list(self.recorded.key.stream_mode),
            },
            "multitask_strategy": body.get("multitask_strategy") or "reject",
        }


@dataclass
class LiveThread:
    """A thread the front end works on, and the runs served on it (oldest first)."""

    thread_id: str
    created_at: str = field(default_factory=_now)
    metadata: dict[str, Any] = field(default_factory=dict)
    runs: list[LiveRun] = field(default_factory=list)

    @property
    def updated_at(self) -> str:
        return self.runs[-1].created_at if self.runs else self.created_at

    def last_outcome(self) -> RunOutcome | None:
        return self.runs[-1].outcome if self.runs else None

    def values(self) -> dict[str, Any]:
        for run in reversed(self.runs):
            if run.outcome.values is not None:
                return run.outcome.values
        return {}

    def status(self) -> str:
        if any(run.running for run in self.runs):
            return "busy"
        outcome = self.last_outcome()
        if outcome is None:
            return "idle"
        if outcome.error is not None:
            return "error"
        return "interrupted" if outcome.interrupts else "idle"

    def as_json(self) -> dict[str, Any]:
        outcome = self.last_outcome()
        return thread_json(
            self.thread_id,
            status=self.status(),
            values=self.values(),
            interrupts=outcome.interrupts if outcome is not None else [],
            created_at=self.created_at,
            updated_at=self.updated_at,
            metadata=self.metadata,
        )

    def state(self) -> dict[str, Any]:
        """The thread's current state, as ``GET /threads/{id}/state`` gives it."""
        history = self.history()
        if history:
            return history[0]
        return self._state(self.values(), [], None, None, {})

    def history(self) -> list[dict[str, Any]]:
        """States newest first: the streamed checkpoints, or each run's final values."""
        states: list[dict[str, Any]] = []
        parent: str | None = None
        for run in self.runs:
            outcome = run.outcome
            if outcome.checkpoints:
                for checkpoint in outcome.checkpoints:
                    states.append(self._from_checkpoint(checkpoint))
                parent = states[-1]["checkpoint_id"]
                continue
            if outcome.values is None and not outcome.interrupts:
                continue
            checkpoint_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.thread_id}/{run.run_id}"))
            metadata = {"run_id": run.run_id, "thread_id": self.thread_id, "source": "loop"}
            state = self._state(
                outcome.values or {}, outcome.interrupts, checkpoint_id, parent, metadata
            )
            states.append(state)
            parent = checkpoint_id
        return states[::-1]

    def _from_checkpoint(self, checkpoint: dict[str, Any]) -> dict[str, Any]:
        config = checkpoint.get("config") or {}
        parent_config = checkpoint.get("parent_config") or {}
        checkpoint_id = (config.get("configurable") or {}).get("checkpoint_id")
        parent_id = (parent_config.get("configurable") or {}).get("checkpoint_id")
        state = self._state(
            checkpoint.get("values") or {},
            [i for task in checkpoint.get("tasks") or [] for i in task.get("interrupts") or []],
            checkpoint_id,
            parent_id,
            checkpoint.get("metadata") or {},
        )
        state["next"] = list(checkpoint.get("next") or [])
        state["tasks"] = list(checkpoint.get("tasks") or state["tasks"])
        return state

    def _state(
        self,
        values: dict[str, Any],
        interrupts: list[dict[str, Any]],
        checkpoint_id: str | None,
        parent_id: str | None,
        metadata: dict[str, Any],
    ) -> dict[str, Any]:
        return thread_state(
            self.thread_id,
            values,
            interrupts,
            checkpoint=(checkpoint_id, parent_id),
            metadata=metadata,
            created_at=self.updated_at,
        )


def thread_json(
    thread_id: str,
    *,
    status: str,
    values: dict[str, Any] | None,
    interrupts: list[dict[str, Any]],
    created_at: str | None = None,
    updated_at: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A thread as ``GET /threads/{id}`` and thread search give it; the pending
    ``interrupts`` under the same task id as :func:`thread_state` gives them."""
    return {
        "thread_id": thread_id,
        "created_at": created_at,
        "updated_at": updated_at,
        "state_updated_at": updated_at,
        "metadata": metadata if metadata is not None else {},
        "status": status,
        "config": {"configurable": {}},
        "values": values,
        "error": None,
        "interrupts": {_task_id(thread_id): interrupts} if interrupts else {},
    }


def thread_state(
    thread_id: str,
    values: dict[str, Any],
    interrupts: list[dict[str, Any]],
    *,
    checkpoint: tuple[str | None, str | None] = (None, None),
    metadata: dict[str, Any] | None = None,
    created_at: str | None = None,
) -> dict[str, Any]:
    """A thread state as ``GET /threads/{id}/state`` gives it: ``values``, a task holding the
    pending ``interrupts``, the ``(checkpoint, parent)`` ids when known."""
    checkpoint_id, parent_id = checkpoint
    tasks = (
        [
            {
                "id": _task_id(thread_id),
                # The node is not in the streamed values: the interrupt is what a UI needs.
                "name": "",
                "path": [],
                "error": None,
                "interrupts": interrupts,
                "checkpoint": None,
                "state": None,
                "result": None,
            }
        ]
        if interrupts
        else []
    )

    def ref(found: str | None) -> dict[str, Any] | None:
        if found is None:
            return None
        return {"checkpoint_id": found, "thread_id": thread_id, "checkpoint_ns": ""}

    return {
        "values": values,
        "next": [],
        "tasks": tasks,
        "metadata": metadata or {},
        "created_at": created_at or _now(),
        "checkpoint": ref(checkpoint_id),
        "parent_checkpoint": ref(parent_id),
        "interrupts": interrupts,
        "checkpoint_id": checkpoint_id,
        "parent_checkpoint_id": parent_id,
    }


def _task_id(thread_id: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{thread_id}/interrupt"))


def _json(
    payload: Any, rewrite: Callable[[bytes], bytes] | None, status: int = 200, label: str = ""
) -> Response:
    content = orjson.dumps(payload)
    if rewrite is not None:
        content = rewrite(content)
    headers = {"x-streamcassette-recording": f"synthesized: {label}"} if label else None
    return Response(content, status_code=status, media_type="application/json", headers=headers)


class World:
    """Live threads and the runs served on them; answers what no recording answers."""

    def __init__(
        self,
        library: Library,
        other_threads: Callable[[], list[dict[str, Any]]] | None = None,
    ) -> None:
        self.library = library
        self.threads: dict[str, LiveThread] = {}
        # threads served by another protocol (the v3 one), as ``GET /threads/{id}`` gives
        # them, listed by thread search too
        self.other_threads = other_threads
        # threads some client created (a recorded thread in here is taken: the next client
        # that creates one gets a fresh id standing for it)
        self.created: set[str] = set()

    # -- told by the replay server ---------------------------------------------------------

    def thread(self, thread_id: str, *, created: bool = False) -> LiveThread:
        """The live thread ``thread_id``; ``created``: a client just created it."""
        found = self.threads.get(thread_id)
        if found is None:
            found = self.threads[thread_id] = LiveThread(thread_id)
        if created:
            self.created.add(thread_id)
        return found

    def run_served(self, thread_id: str | None, run: RecordedRun, speed: float | None) -> None:
        """A recorded run starts streaming on ``thread_id`` (``None``: a stateless run) at
        ``speed`` (``None``: at once)."""
        if thread_id is None:
            return
        outcome = RunOutcome.of(run)
        run_id = outcome.run_id or str(uuid.uuid4())
        self.thread(thread_id).runs.append(LiveRun(run_id, run, outcome, speed=speed))

    def running_run(self, thread_id: str | None, run_id: str) -> LiveRun | None:
        """The served run ``run_id`` while it streams (on ``thread_id``, when given)."""
        threads = self.threads.values() if thread_id is None else [self.threads.get(thread_id)]
        for thread in threads:
            for run in thread.runs if thread is not None else ():
                if run.run_id == run_id and run.running:
                    return run
        return None

    def streaming(self, method: str, path: str) -> bool:
        """Whether the request reads the status of a thread (or its runs) while a served run
        streams on it: the recording's answers were read at another point of the run, so
        the world answers, with the thread busy and the run running."""
        if method == "POST" and path == "/threads/search":
            return any(thread.status() == "busy" for thread in self.threads.values())
        if method != "GET":
            return False
        match = _THREAD.match(path) or _THREAD_RUNS.match(path) or _THREAD_RUN.match(path)
        thread = self.threads.get(match.group(1)) if match else None
        return thread is not None and any(run.running for run in thread.runs)

    def create_thread(self, body: Any, scope: str | None) -> tuple[str, dict[str, Any]] | None:
        """A new thread for ``POST /threads`` with nothing recorded: (recorded thread it
        stands for, the thread), or ``None`` when no run on a thread is recorded."""
        fields = body if isinstance(body, dict) else {}
        recorded = next(
            (
                run.entry.thread_id
                for run in self.library.runs_in(scope)
                if run.kind == "thread" and run.entry.thread_id is not None
            ),
            None,
        )
        if recorded is None:
            return None
        asked = fields.get("thread_id")
        thread_id = asked if isinstance(asked, str) else recorded
        if thread_id in self.created and not isinstance(asked, str):
            thread_id = str(uuid.uuid4())  # the recorded thread is already some client's
        thread = self.thread(thread_id, created=True)
        metadata = fields.get("metadata")
        if isinstance(metadata, dict):
            thread.metadata = metadata
        return recorded, thread.as_json()

    # -- answers ---------------------------------------------------------------------------

    def answer(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        body: Any,
        scope: str | None,
        rewrite: Callable[[bytes], bytes] | None,
    ) -> Response | None:
        """A synthesized answer to the request, or ``None`` when the world has none."""
        fields = body if isinstance(body, dict) else {}
        if method == "GET" and path == "/info":
            return _json(self.info(), None, label="info")
        if method == "POST" and path == "/assistants/search":
            return _json(self.assistants(fields, scope), None, label="assistants")
        if method == "GET" and (match := _ASSISTANT.match(path)):
            return self._assistant(match.group(1), scope)
        if method == "POST" and path == "/threads/search":
            threads = [thread.as_json() for thread in self.threads.values()]
            if self.other_threads is not None:
                threads += self.other_threads()
            status = fields.get("status")
            if status:
                threads = [thread for thread in threads if thread.get("status") == status]
            return _json(_page(threads[::-1], fields), rewrite, label="threads")
        if (match := _THREAD.match(path)) and method == "GET":
            return self._on_thread(match.group(1), rewrite, lambda t: t.as_json(), "thread")
        if (match := _THREAD_STATE.match(path)) and method == "GET":
            return self._on_thread(match.group(1), rewrite, lambda t: t.state(), "state")
        if (match := _THREAD_HISTORY.match(path)) and method in ("GET", "POST"):
            limit = fields.get("limit") if method == "POST" else dict(query).get("limit")
            return self._on_thread(
                match.group(1),
                rewrite,
                lambda t: t.history()[: int(limit or 10)],
                "history",
            )
        if (match := _THREAD_RUNS.match(path)) and method == "GET":
            thread_id = match.group(1)
            return self._on_thread(
                thread_id,
                rewrite,
                lambda t: [run.as_json(thread_id) for run in reversed(t.runs)],
                "runs",
            )
        if (match := _THREAD_RUN.match(path)) and method == "GET":
            return self._run(match.group(1), match.group(2), rewrite, cancel=False)
        if (match := _RUN_CANCEL.match(path)) and method == "POST":
            return self._run(match.group(1), match.group(2), rewrite, cancel=True)
        return None

    def info(self) -> dict[str, Any]:
        server: dict[str, Any] = {}
        for cassette in self.library.cassettes.values():
            recorded = cassette.provenance.get("server")
            if isinstance(recorded, dict):
                server = recorded
                break
        return {
            **server,
            "flags": {"assistants": True, "crons": False, "langsmith": False},
            "streamcassette": {"cassettes": self.library.names},
        }

    def assistants(self, fields: dict[str, Any], scope: str | None) -> list[dict[str, Any]]:
        """One assistant per graph the recorded runs used (each graph's default assistant)."""
        found: dict[str, dict[str, Any]] = {}
        for run in self.library.runs_in(scope):
            assistant = self._assistant_of(run)
            if assistant is not None:
                found.setdefault(assistant["assistant_id"], assistant)
        wanted = fields.get("graph_id")
        listed = [a for a in found.values() if wanted is None or a["graph_id"] == wanted]
        return _page(listed, fields)

    def _assistant(self, asked: str, scope: str | None) -> Response:
        canonical = canonical_assistant(asked)
        for run in self.library.runs_in(scope):
            assistant = self._assistant_of(run)
            if assistant is not None and assistant["assistant_id"] == canonical:
                return _json(assistant, None, label="assistant")
        known = sorted({run.assistant for run in self.library.runs_in(scope)})
        detail = (
            f"streamcassette serve: no recorded run used assistant {asked!r}; "
            f"recorded assistants: {', '.join(map(repr, known)) or 'none'}"
        )
        return _json({"detail": detail}, None, status=404)

    def _assistant_of(self, run: RecordedRun) -> dict[str, Any] | None:
        """The assistant a recorded run used, as ``GET /assistants/{id}`` describes it."""
        assistant_id = run.key.assistant_id
        if assistant_id is None:
            return None
        graph_id = run.assistant if canonical_assistant(run.assistant) != run.assistant else None
        graph_id = graph_id or _graph_of(run) or run.assistant
        recorded_at = self.library.cassettes[run.entry.cassette].provenance.get("recorded_at")
        stamp = recorded_at if isinstance(recorded_at, str) else _now()
        return {
            "assistant_id": assistant_id,
            "graph_id": graph_id,
            "config": {},
            "context": {},
            "metadata": {"created_by": "system"},
            "name": graph_id,
            "created_at": stamp,
            "updated_at": stamp,
            "version": 1,
            "description": None,
        }

    def _on_thread(
        self,
        thread_id: str,
        rewrite: Callable[[bytes], bytes] | None,
        build: Callable[[LiveThread], Any],
        label: str,
    ) -> Response:
        thread = self.threads.get(thread_id)
        if thread is None:
            detail = (
                f"streamcassette serve: thread {thread_id!r} was neither created nor run on "
                "here; to fix: create it (POST /threads) or run on it first"
            )
            return _json({"detail": detail}, None, status=404)
        return _json(build(thread), rewrite, label=label)

    def _run(
        self,
        thread_id: str,
        run_id: str,
        rewrite: Callable[[bytes], bytes] | None,
        *,
        cancel: bool,
    ) -> Response:
        thread = self.threads.get(thread_id)
        run = next((r for r in thread.runs if r.run_id == run_id), None) if thread else None
        if run is None:
            detail = f"streamcassette serve: no run {run_id!r} was served on thread {thread_id!r}"
            return _json({"detail": detail}, None, status=404)
        if cancel:
            run.cancelled = True
            return Response(status_code=202, headers={"x-streamcassette-recording": "cancelled"})
        return _json(run.as_json(thread_id), rewrite, label="run")


def _graph_of(run: RecordedRun) -> str | None:
    """The graph a run named by assistant UUID belongs to, from its streamed metadata."""
    for frame in run.frames:
        parsed = frame.parse()
        if parsed.data and '"graph_id"' in parsed.data:
            match = re.search(r'"graph_id"\s*:\s*"([^"]+)"', parsed.data)
            if match:
                return match.group(1)
    return None


def _page(items: list[dict[str, Any]], fields: dict[str, Any]) -> list[dict[str, Any]]:
    offset = int(fields.get("offset") or 0)
    limit = int(fields.get("limit") or 10)
    return items[offset : offset + limit]
