"""The v3 thread protocol served from cassettes: commands, event streams (SSE and WebSocket)
and the thread's state, for ``client.threads.stream()`` in the Python and JS SDKs.

A recorded *thread* is everything a cassette holds on one thread id: its commands
(``run.start``, ``input.respond``, ...) with their replies, and the union of the events its
streams received (every subscription, SSE or WebSocket, merged by ``seq``), each with the
raw SSE frame or WebSocket text it came in. A live thread (the id the client minted) is bound
to a recorded thread by its first ``run.start``: the recorded run with the same assistant and
input; its later commands follow the recording's.

Events are released as the recording released them: an event comes after the last command
answered before it arrived, on the recording's session clock (the events of a resumed run
wait for its ``input.respond``), at its recorded delay after that command, divided by the
speed. A subscription opened at any time gets the released events its filter (channels,
namespaces, depth, ``since``) selects, then the rest as they are released, like the server's
buffered replay; it stays open, with heartbeats, until the client closes it.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from .._bind import IdBindings
from .._cassette import Body, Interaction, RecordedRequest
from .._match import json_difference
from ..protocols import threads
from ._aliases import ThreadBindings, align
from ._library import Library, canonical_assistant
from ._world import thread_json, thread_state

__all__ = ["HEARTBEAT", "MAX_HOLD", "ThreadProtocol"]


class EventSelector(Protocol):
    """What selects a subscription's events: one filter, or a connection's several."""

    def matches(self, event: dict[str, Any]) -> bool: ...


_HISTORY_PATH = re.compile(r"^/threads/([^/]+)/history$")
# Seconds between heartbeat comments on a quiet SSE stream (sse-starlette's ping interval).
HEARTBEAT = 15.0
# Longest an event waits for another subscription to send its earlier ones (a client that
# stopped reading one stream must not stall the others).
MAX_HOLD = 5.0


@dataclass
class RecordedEvent:
    """One event of a recorded thread, as its SSE frame and its WebSocket text."""

    seq: int
    event: dict[str, Any]
    at: float  # when it first arrived, on the recording's session clock
    frame: bytes | None = None
    text: str | None = None

    def sse(self) -> bytes:
        if self.frame is not None:
            return self.frame
        method = str(self.event.get("method", "event"))
        return b"event: %s\r\ndata: %s\r\nid: %d\r\n\r\n" % (
            method.encode(),
            orjson.dumps(self.event),
            self.seq,
        )

    def ws(self) -> str:
        return self.text if self.text is not None else orjson.dumps(self.event).decode()


@dataclass
class RecordedCommand:
    """A command sent on a recorded thread, and the server's reply."""

    method: str
    params: dict[str, Any]
    reply: dict[str, Any]
    status: int
    at: float
    label: str

    def request(self, thread_id: str) -> RecordedRequest:
        """The command as a request on ``thread_id``, for aligning ids with a live one."""
        return _command_request(thread_id, self.method, self.params)

    @property
    def applied_through(self) -> int:
        meta = self.reply.get("meta")
        seq = meta.get("applied_through_seq") if isinstance(meta, dict) else None
        return seq if isinstance(seq, int) else 0


@dataclass
class RecordedThread:
    """Everything one cassette recorded on one thread of the v3 protocol."""

    cassette: str
    thread_id: str
    commands: list[RecordedCommand] = field(default_factory=list)
    events: list[RecordedEvent] = field(default_factory=list)
    states: list[tuple[float, Interaction, str]] = field(default_factory=list)

    def gate(self, event: RecordedEvent) -> int:
        """The index of the last command answered before the event arrived (-1: none).

        By the session clock, not by ``meta.applied_through_seq``: over HTTP each command
        gets a fresh session on the server, whose reply says 0 whatever the thread's seq.
        """
        gate = -1
        for index, command in enumerate(self.commands):
            if command.at <= event.at:
                gate = index
        return gate

    def run_start(self, index: int) -> RecordedCommand | None:
        command = self.commands[index] if index < len(self.commands) else None
        return command if command is not None and command.method == "run.start" else None


def _session_time(interaction: Interaction) -> float:
    return interaction.started if interaction.started is not None else 0.0


def _threads_of(name: str, interactions: list[Interaction]) -> list[RecordedThread]:
    """The v3 threads recorded in one cassette, in order of their first command."""
    found: dict[str, RecordedThread] = {}
    events: dict[str, dict[int, RecordedEvent]] = {}
    for index, interaction in enumerate(interactions):
        request, response = interaction.request, interaction.response
        thread_id = threads.thread_id_of(request.path)
        if thread_id is None or response is None:
            continue
        thread = found.get(thread_id)
        label = f"{name}#{index}"
        at = _session_time(interaction)
        if threads.COMMANDS_PATH.match(request.path) and request.method == "POST":
            body = request.body.json_or_none() if request.body is not None else None
            reply = response.body.json_or_none() if response.body is not None else None
            if not isinstance(body, dict) or not isinstance(reply, dict):
                continue
            if thread is None:
                thread = found[thread_id] = RecordedThread(name, thread_id)
            params = body.get("params") if isinstance(body.get("params"), dict) else {}
            thread.commands.append(
                RecordedCommand(
                    str(body.get("method")), params or {}, reply, response.status, at, label
                )
            )
        elif threads.STATE_PATH.match(request.path) and request.method == "GET":
            if thread is None:
                thread = found[thread_id] = RecordedThread(name, thread_id)
            thread.states.append((at, interaction, label))
        elif threads.stays_open(request.method, request.path):
            for command in _websocket_commands(interaction, label):
                if thread is None:
                    thread = found[thread_id] = RecordedThread(name, thread_id)
                thread.commands.append(command)
            seen = events.setdefault(thread_id, {})
            for event, when, frame, text in _stream_events(interaction):
                seq = event.get("seq")
                if not isinstance(seq, int):
                    continue
                known = seen.get(seq)
                if known is None:
                    seen[seq] = RecordedEvent(seq, event, at + when, frame, text)
                    continue
                known.at = min(known.at, at + when)
                known.frame = known.frame or frame
                known.text = known.text or text
    for thread_id, thread in found.items():
        thread.commands.sort(key=lambda command: command.at)
        thread.events = sorted(events.get(thread_id, {}).values(), key=lambda e: e.seq)
    return [thread for thread in found.values() if thread.commands]


def _websocket_commands(interaction: Interaction, label: str) -> Iterator[RecordedCommand]:
    """The commands a client sent over a WebSocket (the JS SDK sends ``run.start`` and
    ``input.respond`` there too), each with the reply that carried its ``id``."""
    response = interaction.response
    if response is None or response.websocket is None:
        return
    messages = response.websocket.messages
    replies: dict[Any, tuple[dict[str, Any], float]] = {}
    for message in messages:
        reply = _json(message.data)
        if not message.sent and isinstance(reply, dict) and reply.get("type") != "event":
            replies.setdefault(reply.get("id"), (reply, message.at))
    started = _session_time(interaction)
    for message in messages:
        command = _json(message.data) if message.sent else None
        if not isinstance(command, dict) or not isinstance(command.get("method"), str):
            continue
        if command["method"].startswith("subscription."):
            continue  # answered by the subscription itself, not replayed as a command
        reply, at = replies.get(command.get("id"), ({}, message.at))
        params = command.get("params") if isinstance(command.get("params"), dict) else {}
        status = 200 if reply.get("type") == "success" else 400
        yield RecordedCommand(command["method"], params or {}, reply, status, started + at, label)


def _stream_events(
    interaction: Interaction,
) -> Iterator[tuple[dict[str, Any], float, bytes | None, str | None]]:
    """The events of one recorded event stream: (event, seconds into it, frame, text)."""
    response = interaction.response
    assert response is not None
    if response.stream is not None:
        for index, frame in enumerate(response.stream.frames):
            parsed = frame.parse(at_stream_start=index == 0)
            if not parsed.is_event or parsed.data is None:
                continue
            event = threads.event_of(_json(parsed.data))
            if event is not None:
                yield event, frame.at, frame.raw, None
    if response.websocket is not None:
        for message in response.websocket.received():
            text = message.data if isinstance(message.data, str) else None
            event = threads.event_of(_json(message.data))
            if event is not None:
                yield event, message.at, None, text


def _json(data: str | bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None


class LiveThread:
    """A thread id a client uses, bound to a recorded thread by its first ``run.start``."""

    def __init__(self, thread_id: str, ids: IdBindings) -> None:
        self.thread_id = thread_id
        # Ids the client minted (the thread's, message ids), bound to the recording's.
        self.ids = ids
        self.recorded: RecordedThread | None = None
        self.replayed: list[float] = []  # when each recorded command was replayed
        # Recording time of the last run end sent to the client (inf: none sent yet).
        self.ended_at = math.inf
        # Each open subscription's place in the recorded events (see ``_released``).
        self.positions: dict[object, int] = {}
        self.moved: dict[object, float] = {}  # when each last moved on
        self.changed = anyio.Event()

    def wake(self) -> None:
        self.changed.set()
        self.changed = anyio.Event()

    def move(self, token: object, position: int) -> None:
        """A subscription's place in the recorded events."""
        if self.positions.get(token) != position:
            self.positions[token] = position
            self.moved[token] = anyio.current_time()

    def behind(self, token: object, position: int) -> bool:
        """Whether another subscription still has an event before ``position`` to send; one
        that has not moved on for ``MAX_HOLD`` seconds (its client stopped reading) does
        not hold the others back."""
        now = anyio.current_time()
        return any(
            other < position and now - self.moved[key] < MAX_HOLD
            for key, other in self.positions.items()
            if key is not token
        )

    def ended(self, event: RecordedEvent) -> None:
        """A run's end was sent: note its recording time (state reads after it)."""
        self.ended_at = event.at if math.isinf(self.ended_at) else max(self.ended_at, event.at)

    def release_time(self, event: RecordedEvent, speed: float | None) -> float | None:
        """When the event may go (``anyio.current_time()`` clock); None: not yet known."""
        recorded = self.recorded
        if recorded is None:
            return None
        gate = recorded.gate(event)
        if gate < 0:
            return -math.inf
        if gate >= len(self.replayed):
            return None
        if speed is None:
            return self.replayed[gate]
        delay = max(0.0, event.at - recorded.commands[gate].at)
        return self.replayed[gate] + delay / speed

    def to_live(self, data: bytes) -> bytes:
        """Recorded bytes with the client's ids where the recording had theirs."""
        return self.ids.to_live_bytes(data)


_THREAD_GET_PATH = re.compile(r"^/threads/([^/]+)$")
# A thread's status after its last run's final lifecycle event (else ``idle``).
_THREAD_STATUS = {"interrupted": "interrupted", "failed": "error"}


@dataclass
class _Released:
    """What the root events released so far say of a thread (see ``_released_view``)."""

    values: dict[str, Any] | None  # the last root values event's; None before any
    interrupts: list[dict[str, Any]]
    running: bool
    ended: str | None
    pending: list[str] | None


class ThreadProtocol:
    """Answers the v3 protocol's requests from a :class:`Library`, one instance per app."""

    def __init__(
        self,
        library: Library,
        *,
        speed: float | None,
        bindings: ThreadBindings | None = None,
        aliases: dict[str, str] | None = None,
    ) -> None:
        self.library = library
        self.speed = speed
        # Shared with the rest of serve, so the thread's other requests (a page's ``POST
        # …/history`` after a reload) are answered from its recorded thread, in its ids.
        self.bindings = bindings if bindings is not None else ThreadBindings()
        self.aliases = aliases if aliases is not None else {}
        self.recorded: dict[str, list[RecordedThread]] = {
            name: _threads_of(name, cassette.interactions)
            for name, cassette in library.cassettes.items()
        }
        self.live: dict[str, LiveThread] = {}
        self.used: set[tuple[str, str]] = set()  # recorded threads already bound

    def claims(self, method: str, path: str) -> bool:
        """Whether the request is the v3 protocol's (or the state of a thread it serves, or
        the thread itself)."""
        if threads.is_protocol_request(method, path):
            return True
        if method != "GET":
            return False
        thread = _THREAD_GET_PATH.match(path)
        thread_id = thread.group(1) if thread else threads.thread_id_of(path)
        return (
            thread_id is not None
            and bool(thread or threads.STATE_PATH.match(path))
            and (live := self.live.get(thread_id)) is not None
            and live.recorded is not None
        )

    def _thread(self, thread_id: str) -> LiveThread:
        live = self.live.get(thread_id)
        if live is None:
            live = self.live[thread_id] = LiveThread(thread_id, self.bindings.session(thread_id))
        return live

    def _in_scope(self, scope: str | None) -> Iterator[RecordedThread]:
        for name, recorded in self.recorded.items():
            if scope is None or name == scope:
                yield from recorded

    # -- HTTP -------------------------------------------------------------------------

    async def handle(self, request: Request, path: str, scope: str | None) -> Response:
        if thread := _THREAD_GET_PATH.match(path):
            return self._thread_info(self._thread(thread.group(1)))
        thread_id = threads.thread_id_of(path)
        assert thread_id is not None
        live = self._thread(thread_id)
        if threads.STATE_PATH.match(path):
            return self._state(live)
        body = _json(await request.body())
        if threads.COMMANDS_PATH.match(path):
            reply, status = self.command(live, body, scope)
            return JSONResponse(reply, status_code=status)
        if not isinstance(body, dict) or not isinstance(body.get("channels"), list):
            detail = "channels is required and must be a non-empty array"
            return JSONResponse({"detail": detail}, status_code=400)
        return StreamingResponse(
            self._sse(live, threads.EventFilter.from_body(body)),
            media_type="text/event-stream",
            headers={"cache-control": "no-store"},
        )

    def command(self, live: LiveThread, body: Any, scope: str | None) -> tuple[dict[str, Any], int]:
        """The recorded reply to a command, with the request's own ``id``."""
        if not isinstance(body, dict) or not isinstance(body.get("method"), str):
            problem = "Protocol commands must include an integer id and string method."
            return _command_error(body, problem), 400
        method = body["method"]
        params = body.get("params") if isinstance(body.get("params"), dict) else {}
        if live.recorded is None:
            if method != "run.start":
                problem = f"no run was started on this thread before {method!r}"
                return _command_error(body, problem), 404
            unbound = self._bind(live, params or {}, scope)
            if unbound is not None:
                return _command_error(body, unbound), 404
        recorded = live.recorded
        assert recorded is not None
        index = len(live.replayed)
        expected = recorded.commands[index] if index < len(recorded.commands) else None
        new: dict[str, str] = {}
        if expected is not None:
            aligned = _aligned(live, recorded.thread_id, expected, method, params or {})
            if aligned is not None:
                params, new = aligned
        mismatch = _command_difference(expected, method, params or {})
        if mismatch is not None:
            return _command_error(body, f"thread {live.thread_id}: {mismatch}"), 404
        assert expected is not None
        live.ids.commit(new)
        live.replayed.append(anyio.current_time())
        live.wake()
        reply = dict(expected.reply)
        reply["id"] = body.get("id")
        return reply, expected.status

    def _bind(self, live: LiveThread, params: dict[str, Any], scope: str | None) -> str | None:
        """Bind ``live`` to a recorded thread whose first run has the same assistant and
        input, preferring one no other live thread uses; None, or why none fits."""
        matching: list[RecordedThread] = []
        closest: list[str] = []
        for recorded in self._in_scope(scope):
            start = recorded.run_start(0)
            if start is None:
                continue
            aligned = _aligned(live, recorded.thread_id, start, "run.start", params)
            wanted = _run_key(aligned[0] if aligned is not None else params)
            have = _run_key(start.params)
            if have == wanted:
                matching.append(recorded)
                continue
            difference = json_difference(
                {"assistant_id": have[0], "input": have[1]},
                {"assistant_id": wanted[0], "input": wanted[1]},
            )
            closest.append(f"{start.label}: {difference}")
        if matching:
            fresh = [r for r in matching if (r.cassette, r.thread_id) not in self.used]
            chosen = fresh[0] if fresh else matching[0]  # past the last: start over
            self.used.add((chosen.cassette, chosen.thread_id))
            live.recorded = chosen
            if chosen.thread_id != live.thread_id:
                self.aliases[live.thread_id] = chosen.thread_id
            return None
        listing = "; ".join(closest[:3]) or "no v3 thread sessions are recorded"
        return f"no recorded run.start matches; closest: {listing}"

    def _state(self, live: LiveThread) -> Response:
        recorded = live.recorded
        assert recorded is not None
        if not recorded.states:
            state = self._released_state(live, recorded)
            return _synthesized(live, state, "state of the events served so far")
        _at, interaction, label = self._state_at(live, recorded)
        response = interaction.response
        assert response is not None
        content = response.body.content if response.body is not None else b""
        return Response(
            live.to_live(content),
            status_code=response.status,
            media_type="application/json",
            headers={"x-streamcassette-recording": label},
        )

    def history(self, method: str, path: str, body: Any) -> Response | None:
        """``…/history`` of a thread this protocol serves, when no recording answers it: the
        state of the events served so far, as the one checkpoint (None: not such a thread)."""
        match = _HISTORY_PATH.match(path)
        live = self.live.get(match.group(1)) if match and method in ("GET", "POST") else None
        if live is None or live.recorded is None:
            return None
        limit = body.get("limit") if isinstance(body, dict) else None
        states = [self._released_state(live, live.recorded)]
        return _synthesized(live, states[: limit if isinstance(limit, int) else 10], "history")

    def thread_infos(self) -> list[dict[str, Any]]:
        """The threads this protocol serves, as ``GET /threads/{id}`` gives each (for
        thread search)."""
        return [
            self._thread_json(live, live.recorded)
            for live in list(self.live.values())
            if live.recorded is not None
        ]

    def _thread_info(self, live: LiveThread) -> Response:
        """``GET /threads/{id}`` of a thread this protocol serves: its status (``busy`` while
        a run's events are still being released, then ``idle``, ``interrupted`` or
        ``error``) and values, from the events served so far."""
        recorded = live.recorded
        assert recorded is not None
        info = self._thread_json(live, recorded)
        return _synthesized(live, info, "thread of the events served so far")

    def _thread_json(self, live: LiveThread, recorded: RecordedThread) -> dict[str, Any]:
        released = self._released_view(live, recorded)
        status = "busy" if released.running else _THREAD_STATUS.get(released.ended or "", "idle")
        # ``values`` stays None before any values event, as live.
        return thread_json(
            live.thread_id, status=status, values=released.values, interrupts=released.interrupts
        )

    def _released_state(self, live: LiveThread, recorded: RecordedThread) -> dict[str, Any]:
        """The thread's state after the events released so far: the last root ``values``,
        and the interrupts asked for (``input.requested``) since the last run started."""
        released = self._released_view(live, recorded)
        state = thread_state(live.thread_id, released.values or {}, released.interrupts)
        if released.running:
            # A run in flight: its checkpoint's next nodes; the events streamed without
            # checkpoints do not name them, and then the state leaves ``next`` out, which
            # the SDKs read as "a run may be in flight" (they watch it rather than stop).
            if released.pending:
                state["next"] = released.pending
            else:
                del state["next"]
        return state

    def _released_view(self, live: LiveThread, recorded: RecordedThread) -> _Released:
        """What the root events released so far say of the thread."""
        values: dict[str, Any] | None = None
        interrupts: list[dict[str, Any]] = []
        running = False
        ended: str | None = None  # how the last run ended: its last lifecycle event
        pending: list[str] | None = None  # the nodes to run next, when a checkpoint says
        now = anyio.current_time()
        for event in recorded.events:
            due = live.release_time(event, self.speed)
            if due is None or due > now:
                break
            params = event.event.get("params")
            if not isinstance(params, dict) or params.get("namespace"):
                continue
            data = params.get("data")
            method = event.event.get("method")
            if method == "values" and isinstance(data, dict):
                values = data
            elif method == "input.requested" and isinstance(data, dict):
                interrupts.append({"value": data.get("payload"), "id": data.get("interrupt_id")})
            elif method == "checkpoints" and isinstance(data, dict):
                pending = [str(node) for node in data.get("next") or []]
            elif method == "lifecycle" and isinstance(data, dict):
                running = data.get("event") == "running"
                ended = None if running else str(data.get("event"))
                if running:
                    interrupts = []
        return _Released(values, interrupts, running, ended, pending)

    def _state_at(
        self, live: LiveThread, recorded: RecordedThread
    ) -> tuple[float, Interaction, str]:
        """The recorded state read that fits this point of the live thread: after a run's
        end was sent, the first read recorded after that end (what ``thread.output`` reads);
        before, the last read recorded before this point of the recording (the command last
        replayed, plus the time since at this speed), else the first."""
        states = recorded.states
        if not math.isinf(live.ended_at):
            after = [state for state in states if state[0] >= live.ended_at]
            if after:
                return after[0]
        position = -math.inf
        if live.replayed:
            command = recorded.commands[len(live.replayed) - 1]
            elapsed = anyio.current_time() - live.replayed[-1]
            position = command.at + (elapsed * self.speed if self.speed is not None else 0.0)
        before = [state for state in states if state[0] <= position]
        return before[-1] if before else states[0]

    async def _released(
        self, live: LiveThread, event_filter: EventSelector, heartbeat: float | None
    ) -> AsyncIterator[RecordedEvent | None]:
        """The events the filter selects, each when the recording released it, and None
        whenever ``heartbeat`` seconds pass without one; it never ends (the client closes
        the stream).

        Across a thread's open subscriptions events go in ``seq`` order: one waits (at most
        ``MAX_HOLD`` seconds) while another subscription still has an earlier event to send,
        so a watcher's "completed" never overtakes the main stream's last values.
        """
        token = object()
        position = 0
        quiet_since = anyio.current_time()
        live.move(token, position)
        try:
            while True:
                recorded = live.recorded
                until = math.inf if heartbeat is None else quiet_since + heartbeat
                if recorded is not None and position < len(recorded.events):
                    event = recorded.events[position]
                    if not event_filter.matches(event.event):
                        position += 1
                        live.move(token, position)
                        continue
                    due = live.release_time(event, self.speed)
                    now = anyio.current_time()
                    if due is not None and due <= now:
                        if not live.behind(token, position) or now >= due + MAX_HOLD:
                            position += 1
                            live.move(token, position)
                            live.wake()
                            quiet_since = now
                            if threads.is_terminal(event.event):
                                live.ended(event)
                            yield event
                            continue
                        until = min(until, due + MAX_HOLD)
                    elif due is not None:
                        until = min(until, due)
                with anyio.move_on_after(max(0.0, until - anyio.current_time())):
                    await live.changed.wait()
                if heartbeat is not None and anyio.current_time() >= quiet_since + heartbeat:
                    quiet_since = anyio.current_time()
                    yield None
        finally:
            del live.positions[token], live.moved[token]
            live.wake()

    async def _sse(
        self, live: LiveThread, event_filter: threads.EventFilter
    ) -> AsyncIterator[bytes]:
        async for event in self._released(live, event_filter, HEARTBEAT):
            yield b": ping\r\n\r\n" if event is None else live.to_live(event.sse())

    # -- WebSocket --------------------------------------------------------------------

    async def websocket(self, websocket: WebSocket, path: str, scope: str | None) -> None:
        """``WS /threads/{id}/stream/events``: commands in, replies and events out.

        As on the server, a connection sends each event once, when any of its subscriptions
        selects it.
        """
        thread_id = threads.thread_id_of(path)
        if thread_id is None or not threads.EVENTS_PATH.match(path):
            await websocket.close(code=1008, reason="not a v3 thread event stream")
            return
        live = self._thread(thread_id)
        subscriptions = _Subscriptions()
        await websocket.accept()
        async with anyio.create_task_group() as group:
            try:
                while True:
                    command = _json(await websocket.receive_text())
                    method = command.get("method") if isinstance(command, dict) else None
                    if method == "subscription.subscribe":
                        reply = subscriptions.add(command, live)
                        await websocket.send_text(orjson.dumps(reply).decode())
                        if len(subscriptions.filters) == 1:
                            group.start_soon(self._push, websocket, live, subscriptions)
                        continue
                    if method == "subscription.unsubscribe":
                        reply = subscriptions.remove(command)
                    else:
                        reply, _status = self.command(live, command, scope)
                    await websocket.send_text(orjson.dumps(reply).decode())
            except WebSocketDisconnect:
                pass
            group.cancel_scope.cancel()

    async def _push(
        self, websocket: WebSocket, live: LiveThread, subscriptions: _Subscriptions
    ) -> None:
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):  # the client is gone
            async for event in self._released(live, subscriptions, None):
                if event is not None:
                    await websocket.send_text(live.to_live(event.ws().encode()).decode())


class _Subscriptions:
    """The subscriptions of one WebSocket connection: an event goes once if any selects it."""

    def __init__(self) -> None:
        self.filters: dict[str, threads.EventFilter] = {}

    def matches(self, event: dict[str, Any]) -> bool:
        return any(event_filter.matches(event) for event_filter in self.filters.values())

    def add(self, command: dict[str, Any], live: LiveThread) -> dict[str, Any]:
        """Subscribe; the reply, as the server words it."""
        subscription_id = str(uuid.uuid4())
        self.filters[subscription_id] = threads.EventFilter.from_body(command.get("params"))
        return {
            "type": "success",
            "id": command.get("id"),
            "result": {"subscription_id": subscription_id, "replayed_events": 0},
            "meta": {"applied_through_seq": 0},
        }

    def remove(self, command: dict[str, Any]) -> dict[str, Any]:
        params = command.get("params")
        subscription_id = params.get("subscription_id") if isinstance(params, dict) else None
        self.filters.pop(str(subscription_id), None)
        return {"type": "success", "id": command.get("id"), "result": {}}


def _run_key(params: dict[str, Any]) -> tuple[str | None, Any]:
    """What picks a recorded run: its assistant (graph name or UUID alike) and input."""
    return canonical_assistant(params.get("assistant_id")), params.get("input")


def _command_difference(
    expected: RecordedCommand | None, method: str, params: dict[str, Any]
) -> str | None:
    """Why a live command is not the recording's next one (None: it is)."""
    if expected is None:
        return f"the recording has no more commands (got {method!r})"
    if expected.method != method:
        return f"the recording's next command is {expected.method!r}, not {method!r}"
    if method == "run.start":
        for key in ("assistant_id", "input"):
            recorded_value, live_value = expected.params.get(key), params.get(key)
            if key == "assistant_id":
                recorded_value = canonical_assistant(recorded_value)
                live_value = canonical_assistant(live_value)
            difference = json_difference(recorded_value, live_value, key)
            if difference is not None:
                return f"{method} ({expected.label}): {difference}"
    elif method == "input.respond":
        difference = json_difference(expected.params.get("response"), params.get("response"))
        if difference is not None:
            return f"{method} ({expected.label}): response {difference}"
    return None


def _command_error(body: Any, message: str) -> dict[str, Any]:
    return {
        "type": "error",
        "id": body.get("id") if isinstance(body, dict) else None,
        "error": "not_found",
        "message": f"streamcassette serve: {message}",
    }


def _command_request(thread_id: str, method: str, params: dict[str, Any]) -> RecordedRequest:
    body = orjson.dumps({"method": method, "params": params})
    return RecordedRequest("POST", f"/threads/{thread_id}/commands", [], [], Body(body))


def _aligned(
    live: LiveThread,
    recorded_thread: str,
    expected: RecordedCommand,
    method: str,
    params: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, str]] | None:
    """A live command's params in the recording's ids (the thread id, the message ids the
    page minted), with the bindings that takes; None when its ids cannot stand for the
    recorded ones (then it is compared as sent)."""
    found = align(
        live.ids,
        _command_request(live.thread_id, method, params),
        expected.request(recorded_thread),
    )
    if found is None:
        return None
    translated, new = found
    body = translated.body.json_or_none() if translated.body is not None else None
    translated_params = body.get("params") if isinstance(body, dict) else None
    return (translated_params if isinstance(translated_params, dict) else params), new


def _synthesized(live: LiveThread, payload: Any, label: str) -> Response:
    """A synthesized JSON answer, in the client's ids."""
    return Response(
        live.to_live(orjson.dumps(payload)),
        media_type="application/json",
        headers={"x-streamcassette-recording": f"synthesized: {label}"},
    )
