"""The v3 thread protocol: ``client.threads.stream()`` (langgraph-sdk >= 0.4.14, JS SDK 1.x).

On the wire (langgraph-api ``api/event_streaming.py``):

* ``POST /threads/{tid}/commands``: one JSON command ``{"id": n, "method": ..., "params"}``
  (``run.start``, ``input.respond``, ...); the reply ``{"type": "success", "id": n,
  "result": {...}, "meta": {"applied_through_seq": k}}`` echoes the command's ``id``.
  ``run.start`` answers ``result.run_id``; no reply ever names the thread, which the
  client mints (uuid4 in Python, uuidv7 in React).
* ``POST /threads/{tid}/stream/events``: an SSE stream filtered by the body
  ``{"channels", "namespaces"?, "depth"?, "since"?}``. Frames are ``event: <method>``,
  ``data: {"type": "event", "event_id", "seq", "method", "params": {"namespace",
  "timestamp", "data"}}``, ``id: <seq>``. It never ends by itself: the client closes it.
* ``WS /threads/{tid}/stream/events``: the same events as WebSocket text messages, after
  a ``subscription.subscribe`` command carrying the same filter.
* ``GET /threads/{tid}/state``: the thread's values once the run is over.

Every event carries the thread's ``seq``, the same on every stream it appears on, so
events from several streams merge by it. A run ends with a root-namespace ``lifecycle``
event whose ``data.event`` is ``completed`` or ``failed`` (``interrupted`` pauses it).
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .._cassette import Interaction, RecordedFrame, RecordedResponse, RecordedStream
from .._seq_order import KeyedStream, ordered_times

__all__ = [
    "CHANNELS",
    "COMMANDS_PATH",
    "DIFF_MODES",
    "EVENTS_PATH",
    "STATE_PATH",
    "TERMINAL_LIFECYCLE",
    "TIMESTAMP_KEY",
    "TIMESTAMP_MATCH",
    "VOLATILE_KEYS",
    "EventFilter",
    "EventOrder",
    "as_event_stream",
    "event_of",
    "event_order",
    "is_protocol_request",
    "is_terminal",
    "namespace_in",
    "node_names",
    "orders_events",
    "run_id_of",
    "run_start_params",
    "starts_run",
    "stays_open",
    "thread_id_of",
    "token_text",
    "unwrap",
]

COMMANDS_PATH = re.compile(r"^/threads/([^/]+)/commands$")
EVENTS_PATH = re.compile(r"^/threads/([^/]+)/stream/events$")
STATE_PATH = re.compile(r"^/threads/([^/]+)/state$")

# The channels a subscription may name (plus ``custom:<name>``); ``threads.stream()``'s
# ``thread.events`` subscribes to all of them.
CHANNELS = frozenset(
    {
        "values",
        "updates",
        "checkpoints",
        "messages",
        "tools",
        "custom",
        "lifecycle",
        "input",
        "tasks",
    }
)
# What a drift check compares when no modes are configured: what the run did (state,
# updates, tool runs, custom writes, how it and its subgraphs ran and ended, interrupts).
# Not ``messages`` (token boundaries move between two runs of a real model, as the runs
# protocol's default leaves them out too), nor ``checkpoints``/``tasks`` bookkeeping.
# langgraph-api 0.16 streams no ``updates`` on this protocol, so the runs default would
# compare nothing at all.
DIFF_MODES: tuple[str, ...] = ("values", "updates", "tools", "custom", "lifecycle", "input")
# Values that differ between two recordings of the same session, by JSON key, with the kind
# of placeholder masking gives them: the thread's event counter (on events, in command
# replies' ``meta`` and in a reconnect's ``since``) and event ids (a Redis stream id, or
# ``synth:<run>:...``). Commands' own ``id`` counters (JS starts where its earlier commands
# left off, Python at 1) are in command bodies and replies only, which serve echoes.
VOLATILE_KEYS: dict[str, str] = {
    "seq": "seq",
    "applied_through_seq": "seq",
    "since": "seq",
    "event_id": "event_id",
}
# When the server stamped an event (``params.timestamp``), in epoch milliseconds.
TIMESTAMP_KEY = "timestamp"
TIMESTAMP_MATCH = r"[0-9]{13}"

# Root lifecycle events that end a run (the SDK's ``_is_root_terminal_lifecycle``).
TERMINAL_LIFECYCLE = frozenset({"completed", "failed"})


def is_protocol_request(method: str, path: str) -> bool:
    """Whether the request is one of the protocol's commands or event streams."""
    method = method.upper()
    if method == "POST" and COMMANDS_PATH.match(path):
        return True
    return method in ("POST", "WEBSOCKET") and bool(EVENTS_PATH.match(path))


def starts_run(method: str, path: str, body: Any) -> bool:
    """Whether the request is a ``run.start`` command."""
    return (
        method.upper() == "POST"
        and bool(COMMANDS_PATH.match(path))
        and isinstance(body, dict)
        and body.get("method") == "run.start"
    )


def run_start_params(commands: Iterable[Any]) -> dict[str, Any] | None:
    """The params of the first ``run.start`` among commands (parsed JSON), if any."""
    for command in commands:
        if isinstance(command, dict) and command.get("method") == "run.start":
            params = command.get("params")
            return params if isinstance(params, dict) else {}
    return None


def orders_events(method: str, path: str) -> bool:
    """Whether events recorded after this request came because of it (a command: the run
    it starts or resumes streams afterwards), so a replay must not serve them before it."""
    return method.upper() == "POST" and bool(COMMANDS_PATH.match(path))


def stays_open(method: str, path: str) -> bool:
    """Whether the server keeps this response open until the client closes it: a replay
    must hold it open after its last recorded frame rather than end it."""
    return method.upper() in ("POST", "WEBSOCKET") and bool(EVENTS_PATH.match(path))


def thread_id_of(path: str) -> str | None:
    """The thread a protocol path names."""
    for pattern in (COMMANDS_PATH, EVENTS_PATH, STATE_PATH):
        match = pattern.match(path)
        if match:
            return match.group(1)
    return None


def run_id_of(reply: Any) -> str | None:
    """The run a ``run.start`` reply started."""
    if not isinstance(reply, dict):
        return None
    result = reply.get("result")
    run_id = result.get("run_id") if isinstance(result, dict) else None
    return run_id if isinstance(run_id, str) else None


def event_of(message: Any) -> dict[str, Any] | None:
    """The event in an SSE frame's data or a WebSocket message (already parsed JSON);
    None for command replies and anything else."""
    if isinstance(message, dict) and message.get("type") == "event":
        return message
    return None


def _params(event: dict[str, Any]) -> dict[str, Any]:
    params = event.get("params")
    return params if isinstance(params, dict) else {}


def namespace_of(event: dict[str, Any]) -> list[str]:
    namespace = _params(event).get("namespace")
    return [str(part) for part in namespace] if isinstance(namespace, list) else []


def node_names(namespace: Iterable[str]) -> tuple[str, ...]:
    """A namespace in LangGraph's words: the subgraph nodes it runs in, without each
    segment's dynamic ``:<task id>`` (``["child:<id>"]`` is ``("child",)``; root: ``()``)."""
    return tuple(str(segment).partition(":")[0] for segment in namespace)


# How langgraph-api writes an event's namespace: first in its params.
_NAMESPACE_AT = '"params":{"namespace":['


def namespace_in(text: str | None) -> tuple[str, ...]:
    """The node names of the namespace of an event given as JSON text (masked or not), read
    where the server writes it without parsing the whole event; ``()`` for the root and
    for anything that is not an event."""
    if text is None:
        return ()
    at = text.find(_NAMESPACE_AT)
    if at >= 0:
        start = at + len(_NAMESPACE_AT) - 1
        if text.startswith("[]", start):
            return ()
        end = text.find("]", start)  # a "]" inside a segment leaves this unparsable
        try:
            segments = json.loads(text[start : end + 1])
        except ValueError:
            segments = None
        if isinstance(segments, list):
            return node_names(segments)
    try:
        event = event_of(json.loads(text))
    except ValueError:
        return ()
    return node_names(namespace_of(event)) if event is not None else ()


def unwrap(data: Any) -> tuple[tuple[str, ...], Any] | None:
    """An event's namespace (node names) and its payload (``params.data``), for an event
    already parsed; None for anything that is not an event."""
    event = event_of(data)
    if event is None:
        return None
    return node_names(namespace_of(event)), _params(event).get("data")


def is_terminal(event: dict[str, Any]) -> bool:
    """Whether the event ends the run (a root ``lifecycle`` ``completed``/``failed``)."""
    if event.get("method") != "lifecycle" or namespace_of(event):
        return False
    data = _params(event).get("data")
    return isinstance(data, dict) and data.get("event") in TERMINAL_LIFECYCLE


def _prefix_match(namespace: Sequence[str], prefix: Sequence[str]) -> bool:
    """langgraph-api's ``is_prefix_match``: a prefix segment without ``:`` also matches a
    namespace segment whose dynamic ``:<task id>`` suffix is stripped."""
    if len(prefix) > len(namespace):
        return False
    for segment, candidate in zip(prefix, namespace, strict=False):
        if candidate == segment:
            continue
        if ":" in segment or candidate.split(":")[0] != segment:
            return False
    return True


@dataclass(frozen=True, slots=True)
class EventFilter:
    """A subscription's filter, as ``stream/events`` bodies and ``subscription.subscribe``
    params give it; :meth:`matches` decides as langgraph-api's session does."""

    channels: frozenset[str]
    namespaces: tuple[tuple[str, ...], ...] | None = None
    depth: int | None = None
    since: int | None = None

    @classmethod
    def from_body(cls, body: Any) -> EventFilter:
        """The filter of a request body; unusable parts are ignored, as the server does."""
        if not isinstance(body, dict):
            return cls(frozenset(CHANNELS))
        channels = body.get("channels")
        names = (
            frozenset(str(name) for name in channels)
            if isinstance(channels, list)
            else frozenset(CHANNELS)
        )
        raw_namespaces = body.get("namespaces")
        namespaces = None
        if isinstance(raw_namespaces, list):
            kept = tuple(
                tuple(namespace)
                for namespace in raw_namespaces
                if isinstance(namespace, list) and all(isinstance(s, str) for s in namespace)
            )
            namespaces = kept or None
        return cls(names, namespaces, _count(body.get("depth")), _count(body.get("since")))

    def matches(self, event: dict[str, Any]) -> bool:
        method = str(event.get("method", ""))
        channel = "input" if method == "input.requested" else method
        if channel == "custom":
            data = _params(event).get("data")
            name = data.get("name") if isinstance(data, dict) else None
            if "custom" not in self.channels and f"custom:{name}" not in self.channels:
                return False
        elif channel not in self.channels:
            return False
        seq = event.get("seq")
        if self.since is not None and isinstance(seq, int) and seq <= self.since:
            return False
        if not self.namespaces:
            return True
        namespace = namespace_of(event)
        return any(
            _prefix_match(namespace, prefix)
            and (self.depth is None or len(namespace) - len(prefix) <= self.depth)
            for prefix in self.namespaces
        )


def _count(value: Any) -> int | None:
    """A non-negative int field (``depth``, ``since``); anything else (bools too) is None."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def token_text(event: dict[str, Any]) -> str | None:
    """The text an LLM token adds (a ``messages`` ``content-block-delta``), else None.

    Tool-call argument deltas count too, as the runs protocol's tokens do.
    """
    if event.get("method") != "messages":
        return None
    data = _params(event).get("data")
    if not isinstance(data, dict) or data.get("event") != "content-block-delta":
        return None
    delta = data.get("delta")
    if not isinstance(delta, dict):
        return None
    for key in ("text", "args", "reasoning"):
        value = delta.get(key)
        if isinstance(value, str):
            return value
    return None


def describe(event: dict[str, Any]) -> str:
    """``messages`` or ``values|child:<task>`` : the channel and namespace of an event, as
    the runs protocol names a subgraph's events."""
    namespace = namespace_of(event)
    method = str(event.get("method", "event"))
    return "|".join([method, *namespace]) if namespace else method


def channels_in(events: Iterable[dict[str, Any]]) -> list[str]:
    """The channels that occur in ``events``, in order of first appearance."""
    seen: dict[str, None] = {}
    for event in events:
        seen.setdefault(str(event.get("method", "")), None)
    return list(seen)


def as_event_stream(interaction: Interaction) -> Interaction | None:
    """A WebSocket event stream as the SSE stream the server would have sent for it (each
    received event as ``event: <method>`` and its JSON, at its time; command replies left
    out), so masking and the diff read both transports alike. None for anything else."""
    response = interaction.response
    if response is None or response.websocket is None:
        return None
    websocket = response.websocket
    frames = []
    for message in websocket.received():
        try:
            event = event_of(json.loads(message.data))
        except ValueError:
            event = None
        if event is None:
            continue
        text = message.data if isinstance(message.data, str) else message.data.decode()
        method = str(event.get("method", "event"))
        frames.append(RecordedFrame(message.at, f"event: {method}\ndata: {text}\n\n".encode()))
    stream = RecordedStream(frames=frames, end=websocket.end, duration=websocket.duration)
    as_sse = RecordedResponse(response.status, response.headers, stream=stream)
    return Interaction(interaction.request, as_sse, started=interaction.started)


@dataclass(frozen=True)
class EventOrder:
    """How a replay keeps a cassette's v3 events in the order they happened.

    ``times``: each v3 event stream's frame (or received message) times on the session
    clock, by interaction index, raised where needed so that across a thread's streams an
    event never comes before an event of lower ``seq`` that arrived live on another stream
    (see ``_seq_order``); within a stream they stay in order. Live, each stream is its own
    connection and a watcher's "completed" may reach the client before the main stream's
    last events; replayed in that order, the SDK would see the run end before its last
    events.

    ``keys``: each such stream's reader of one frame's ``seq`` (None for a frame without).

    ``floors``: each v3 command's (by interaction index) highest ``seq`` its client had
    received, on any of the thread's streams, when it sent the command. Events up to that
    ``seq`` happened before the command, so replay must not hold them back for it, even on a
    slower stream that got them live only after the command was sent (a watcher that saw
    the interrupt first, answered at once, while the main stream's copy was on its way).
    """

    times: dict[int, list[float]]
    keys: dict[int, Callable[[int], int | None]]
    floors: dict[int, int]


def event_order(interactions: Sequence[Interaction]) -> EventOrder:
    """The :class:`EventOrder` of a cassette's interactions."""
    threads: dict[str, list[tuple[int, KeyedStream]]] = {}
    for index, interaction in enumerate(interactions):
        request, response = interaction.request, interaction.response
        if interaction.started is None or response is None:
            continue
        if not stays_open(request.method, request.path):
            continue
        started = interaction.started
        if response.stream is not None:
            times = [started + at for at in response.stream.frame_times()]
            keyed = KeyedStream(started, times, _frame_seq(response.stream))
        elif response.websocket is not None:
            # One connection carries every subscription's events: all keys are read, and
            # checked for rising (a subscription opened later replays older events).
            received = list(response.websocket.received())
            times = [started + message.at for message in received]
            seqs = [_seq(_bytes(message.data)) for message in received]
            keyed = KeyedStream(started, times, seqs.__getitem__, keys=seqs)
        else:
            continue
        threads.setdefault(thread_id_of(request.path) or "", []).append((index, keyed))
    ordered: dict[int, list[float]] = {}
    keys: dict[int, Callable[[int], int | None]] = {}
    for streams in threads.values():
        merged = ordered_times([keyed for _, keyed in streams])
        for (index, keyed), times in zip(streams, merged, strict=True):
            ordered[index] = times
            keys[index] = keyed.key
    floors: dict[int, int] = {}
    for index, interaction in enumerate(interactions):
        request = interaction.request
        if interaction.started is None or not orders_events(request.method, request.path):
            continue
        streams = threads.get(thread_id_of(request.path) or "", [])
        floors[index] = max(
            (_highest_before(keyed, interaction.started) for _, keyed in streams), default=-1
        )
    return EventOrder(ordered, keys, floors)


def _highest_before(stream: KeyedStream, at: float) -> int:
    """The highest ``seq`` of the stream's frames that arrived before ``at`` (-1: none).

    A connection's keys rise (see ``_seq_order``), so the last keyed frame before ``at``
    holds it; a WebSocket carrying several subscriptions has all its keys at hand."""
    count = bisect.bisect_left(stream.times, at)
    if stream.all_keys is not None:
        return max((key for key in stream.all_keys[:count] if key is not None), default=-1)
    for position in range(count - 1, -1, -1):
        key = stream.key(position)
        if key is not None:
            return key
    return -1


def _frame_seq(stream: RecordedStream) -> Callable[[int], int | None]:
    """Reads one frame's ``seq`` (only the frames the merge asks for are cut and read)."""
    frames = stream.frames
    return lambda index: _seq(frames[index].raw)


def _bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


# An event's own ``seq``: the server writes ``type``, ``event_id``, then ``seq``, before
# ``params`` (where the graph's data could hold a key of that name), so the first one in
# the frame's head is the event's. Found in the raw bytes: parsing every frame's JSON would
# cost replay more than the SDK spends reading it.
_SEQ = re.compile(rb'"seq":([0-9]+)')


def _seq(raw: bytes) -> int | None:
    match = _SEQ.search(raw, 0, 256)
    return int(match.group(1)) if match is not None else None
