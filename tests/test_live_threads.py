"""v3 thread streams (``client.threads.stream()``) recorded live, then replayed offline.

Each program runs against the session's real ``langgraph dev`` inside ``use_cassette``
(record), then twice more inside ``use_cassette`` against a dead URL (replay): the replays
see the same events, values, interrupts and output as the live run, every time.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from cutting_relay import LaggingRelay
from thread_sessions import (
    Program,
    Projected,
    Seen,
    opens_values_stream,
    project_async,
    project_sync,
    run_async,
    run_sync,
)

from streamcassette import Cassette, ReplayTransport, load, use_cassette
from streamcassette._cassette import Body, Interaction
from streamcassette.devserver import LangGraphDevServer
from streamcassette.protocols import threads

DEAD_URL = "http://127.0.0.1:9"  # discard port: nothing answers there
# What thread.events subscribes to (langgraph-sdk 0.4.14's _ALL_CHANNELS).
ALL_CHANNELS = ["values", "updates", "messages", "tools", "lifecycle", "input"]
ALL_CHANNELS += ["checkpoints", "tasks", "custom"]
WEATHER = {"messages": [{"role": "user", "content": "what's the weather in la"}]}

PROGRAMS = [
    Program("joke", "joke", {"topic": "ice cream"}),
    Program("tool-agent", "tool_agent", WEATHER),
    Program("subgraph", "subgraph", {"foo": "foo"}),
    Program("custom", "custom", {}),
    Program("failing", "failing", {}),
    Program("interrupt", "interrupting", {}, respond="yes"),
]
SYNC_PROGRAMS = ["joke", "tool-agent", "interrupt"]


def _session(
    flavor: str, url: str, program: Program, transport: str, thread_id: str | None
) -> Seen:
    if flavor == "async":
        return asyncio.run(run_async(url, program, transport, thread_id))
    return run_sync(url, program, transport, thread_id)


CASES = [
    pytest.param(flavor, transport, program, id=f"{program.name}-{transport}-{flavor}")
    for program in PROGRAMS
    for transport in ("sse", "websocket")
    for flavor in ("async", "sync")
    if flavor == "async" or program.name in SYNC_PROGRAMS
]


@pytest.mark.parametrize(("flavor", "transport", "program"), CASES)
def test_thread_session_replays_as_recorded(
    langgraph_server: LangGraphDevServer,
    tmp_path: Path,
    flavor: str,
    transport: str,
    program: Program,
) -> None:
    """A recorded v3 session replays offline, under a new client-minted thread id, with the
    live events, values, interrupts and output, the same on every replay."""
    path = tmp_path / "session.json"
    with use_cassette(path, mode="record"):
        live = _session(flavor, langgraph_server.url, program, transport, None)
    assert live.events
    assert threads.is_terminal(live.events[-1])
    if program.respond is not None:
        assert live.interrupts
        assert live.output == {"approved": program.respond}
    if program.graph == "failing":
        assert live.error is not None
    replays = []
    for _ in range(2):
        with use_cassette(path):
            # The SDK mints a new thread id: replay binds it to the recorded one.
            replays.append(_session(flavor, DEAD_URL, program, transport, None))
    for replayed in replays:
        assert replayed.events == live.events
        assert replayed.output == live.output
        assert replayed.error == live.error
        assert replayed.interrupts == live.interrupts
        assert replayed.run_ids == live.run_ids
        if flavor == "async" and program.respond is None:
            # After an interrupt, how many thread.values snapshots arrive before the session
            # stops reading them varies even live.
            assert replayed.values == live.values


def _main_stream_request(transport: str) -> Callable[[bytes], bool]:
    """Whether a connection's request (so far) opens ``thread.events``' stream: over SSE the
    body names every channel; over WebSocket it is the first stream connection (the events
    task opens it before the values task, and the lifecycle watcher opens after run.start)."""
    if transport == "sse":
        return lambda seen: b"/stream/events" in seen and b'"checkpoints"' in seen
    return lambda seen: seen.startswith(b"GET /threads/") and b"/stream/events" in seen


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_an_answer_sent_before_the_main_stream_had_the_interrupt_replays(
    langgraph_server: LangGraphDevServer, tmp_path: Path, transport: str
) -> None:
    """Live, the SDK's lifecycle watcher can get an interrupt before the main stream does
    and the client answers at once: the main stream's events from before the interrupt then
    arrive after the answer was sent. Replay gives them without waiting for the answer
    (they happened before it), so the watcher gets the interrupt in the same order and the
    session replays as it ran: no stall, no run that ends unanswered. (Async only: the sync
    session reads the main stream only after it answered.)"""
    flavor = "async"
    program = Program("interrupt", "interrupting", {}, respond="yes")
    relay = LaggingRelay(langgraph_server.port, _main_stream_request(transport), lag=0.5)
    relay.start()
    path = tmp_path / "session.json"
    try:
        with use_cassette(path, mode="record"):
            live = _session(flavor, relay.url, program, transport, None)
    finally:
        relay.close()
    assert live.interrupts
    assert live.output == {"approved": "yes"}
    # The recording holds the race: the main stream's interrupt came after the answer.
    cassette = load(path)
    answered = next(
        interaction.started
        for interaction in cassette.interactions
        if threads.orders_events(interaction.request.method, interaction.request.path)
        and b'"input.respond"' in (interaction.request.body or Body(b"")).content
    )
    main = next(
        as_sse
        for interaction in cassette.interactions
        if (as_sse := threads.as_event_stream(interaction) or interaction).response is not None
        and as_sse.response.stream is not None
        and threads.stays_open(interaction.request.method, interaction.request.path)
    )
    assert main.response is not None
    assert main.response.stream is not None
    interrupt_at = next(
        (main.started or 0.0) + frame.at
        for frame in main.response.stream.frames
        if frame.parse().event == "input.requested"
    )
    assert answered is not None
    assert interrupt_at > answered
    for _ in range(2):
        with use_cassette(path):
            replayed = _session(flavor, DEAD_URL, program, transport, None)
        assert replayed.events == live.events
        assert replayed.interrupts == live.interrupts
        assert replayed.output == live.output
        assert replayed.run_ids == live.run_ids


def _message_ids(values: dict[str, Any]) -> list[str]:
    return [message["id"] for message in values.get("messages", [])]


def test_snapshots_that_reach_thread_values_after_the_output_replay(
    langgraph_server: LangGraphDevServer, tmp_path: Path
) -> None:
    """Live, ``thread.values``' stream can lag the events stream: the output is in before the
    last snapshots are. The session reads on until that stream's own terminal event, so it
    sees every snapshot, and replay gives the same ones, ending with the output."""
    program = PROGRAMS[1]
    relay = LaggingRelay(langgraph_server.port, opens_values_stream, lag=0.5)
    relay.start()
    path = tmp_path / "session.json"
    try:
        with use_cassette(path, mode="record"):
            live = _session("async", relay.url, program, "sse", None)
    finally:
        relay.close()
    assert live.error is None
    # the last snapshot is the final state (the stream and the state API serialise it apart)
    assert _message_ids(live.values[-1]) == _message_ids(live.output)
    for _ in range(2):
        with use_cassette(path):
            replayed = _session("async", DEAD_URL, program, "sse", None)
        assert replayed.values == live.values
        assert replayed.output == live.output


def _projected(url: str, flavor: str, transport: str) -> Projected:
    if flavor == "async":
        return asyncio.run(project_async(url, PROGRAMS[1], transport))
    return project_sync(url, PROGRAMS[1], transport)


@pytest.mark.parametrize("transport", ["sse", "websocket"])
@pytest.mark.parametrize("flavor", ["async", "sync"])
def test_projections_replay_as_recorded(
    langgraph_server: LangGraphDevServer,
    counting_listener: tuple[str, list[int]],
    tmp_path: Path,
    flavor: str,
    transport: str,
) -> None:
    """``thread.messages`` and ``thread.tool_calls`` of a recorded agent session give in
    replay (new thread id, a listener where the server was) the live messages, with their
    text and tool calls, and the live tool calls with their inputs and outputs; both
    iterations end with the run, live and replayed."""
    path = tmp_path / "session.json"
    with use_cassette(path, mode="record"):
        live = _projected(langgraph_server.url, flavor, transport)
    # The agent's two turns: the search call, then the answer streamed token by token.
    assert [message["text"] for message in live.messages] == [
        "",
        "The weather in Los Angeles is sunny and 72 degrees.",
    ]
    [call] = live.messages[0]["tool_calls"]
    assert [(tool["name"], tool["id"], tool["input"]) for tool in live.tool_calls] == [
        ("search", call["id"], {"query": "weather in los angeles"})
    ]
    assert live.tool_calls[0]["output"]["content"].startswith("Los Angeles: sunny")
    assert len(live.output["messages"]) == 4
    listener, connections = counting_listener
    for _ in range(2):
        with use_cassette(path):
            replayed = _projected(listener, flavor, transport)
        assert replayed == live
    assert connections == [0]


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_thread_session_cassette_names_its_streams(
    langgraph_server: LangGraphDevServer, tmp_path: Path, transport: str
) -> None:
    """A recorded session holds the run.start command, the event streams (SSE frames or
    WebSocket messages, the subscribe command first) and the state read."""
    path = tmp_path / "session.json"
    with use_cassette(path, mode="record"):
        asyncio.run(run_async(langgraph_server.url, PROGRAMS[0], transport, None))
    cassette = load(path)
    kinds = {
        (interaction.request.method, "/".join(interaction.request.path.split("/")[3:]))
        for interaction in cassette.interactions
    }
    stream_method = "WEBSOCKET" if transport == "websocket" else "POST"
    assert ("POST", "commands") in kinds
    assert (stream_method, "stream/events") in kinds
    assert ("GET", "state") in kinds
    if transport == "websocket":
        websockets = [i for _, i in cassette.websockets()]
        assert websockets
        for interaction in websockets:
            assert interaction.response is not None
            assert interaction.response.status == 101
            recorded = interaction.response.websocket
            assert recorded is not None
            assert recorded.messages[0].sent
            assert '"subscription.subscribe"' in str(recorded.messages[0].data)


def _stream_with_body(cassette: Cassette, body: Any) -> Interaction:
    return next(
        interaction
        for interaction in cassette.interactions
        if interaction.request.body is not None and interaction.request.body.json_or_none() == body
    )


async def _arrivals(path: Path) -> list[tuple[str, int]]:
    """Replay a session's main stream and lifecycle watcher with one reader each (the run
    started after both opened, as recorded); the (stream, seq) of each event as it arrived."""
    cassette = load(path)
    main = _stream_with_body(cassette, {"channels": ALL_CHANNELS})
    watcher = _stream_with_body(cassette, {"channels": ["lifecycle", "input"]})
    start = next(i for i in cassette.interactions if i.request.path.endswith("/commands"))
    arrivals: list[tuple[str, int]] = []
    transport = ReplayTransport(cassette)
    async with httpx.AsyncClient(base_url="http://replay.invalid", transport=transport) as http:

        async def read(name: str, interaction: Interaction) -> None:
            request = interaction.request
            assert request.body is not None
            async with http.stream("POST", request.path, content=request.body.content) as reply:
                async for line in reply.aiter_lines():
                    if line.startswith("data: "):
                        event = json.loads(line.removeprefix("data: "))
                        arrivals.append((name, event["seq"]))
                        if threads.is_terminal(event):
                            return

        async with anyio.create_task_group() as group:
            group.start_soon(read, "main", main)
            group.start_soon(read, "watcher", watcher)
            await anyio.sleep(0.05)
            assert start.request.body is not None
            await http.post(start.request.path, content=start.request.body.content)
    return arrivals


@pytest.mark.anyio
async def test_the_watchers_completion_never_overtakes_the_main_stream(
    langgraph_server: LangGraphDevServer, tmp_path: Path
) -> None:
    """Read at once in replay, the lifecycle watcher's "completed" arrives after every main
    stream event recorded before it, every time."""
    path = tmp_path / "session.json"
    with use_cassette(path, mode="record"):
        await run_async(langgraph_server.url, PROGRAMS[1], "sse", None)
    for _ in range(3):
        arrivals = await _arrivals(path)
        completed = arrivals.index(("watcher", max(seq for _, seq in arrivals)))
        main_before = [seq for name, seq in arrivals[completed:] if name == "main"]
        assert main_before in ([], [max(seq for _, seq in arrivals)]), arrivals
        assert len([a for a in arrivals if a[0] == "main"]) > 20
