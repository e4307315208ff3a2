"""v3 thread streams (``client.threads.stream()``) recorded live, then replayed offline.

Each program runs against the session's real ``langgraph dev`` inside ``use_cassette``
(record), then twice more inside ``use_cassette`` against a dead URL (replay): the replays
see the same events, values, interrupts and output as the live run, every time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from thread_sessions import Program, Seen, run_async, run_sync

from streamcassette import load, use_cassette
from streamcassette.devserver import LangGraphDevServer
from streamcassette.protocols import threads

DEAD_URL = "http://127.0.0.1:9"  # discard port: nothing answers there
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
