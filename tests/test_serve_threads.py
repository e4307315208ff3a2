"""``streamcassette serve`` speaks the v3 thread protocol: commands, event streams over SSE
and WebSocket, and state, from a recorded session; the SDK sees what it saw live."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from thread_sessions import Program, run_async, run_sync

from streamcassette import use_cassette
from streamcassette.devserver import LangGraphDevServer
from streamcassette.serve import BackgroundServer, replay_app
from streamcassette.serve import _threads as serve_threads

WEATHER = {"messages": [{"role": "user", "content": "what's the weather in la"}]}
AGENT = Program("tool-agent", "tool_agent", WEATHER)
INTERRUPT = Program("interrupt", "interrupting", {}, respond="yes")


def _start_agent(command_id: int) -> dict[str, Any]:
    """The recorded agent session's ``run.start``, with the client's own command id."""
    params = {"assistant_id": "tool_agent", "input": WEATHER}
    return {"id": command_id, "method": "run.start", "params": params}


@contextmanager
def _served_http(path: Path) -> Iterator[httpx.Client]:
    """A plain HTTP client of ``serve`` on the cassette at ``path`` (instant timing)."""
    with (
        BackgroundServer(replay_app(path, speed=None)) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=10) as http,
    ):
        yield http


def _record(server: LangGraphDevServer, path: Path, program: Program, transport: str):
    with use_cassette(path, mode="record"):
        return asyncio.run(run_async(server.url, program, transport, None))


@pytest.mark.parametrize("served", ["sse", "websocket"])
@pytest.mark.parametrize("recorded", ["sse", "websocket"])
@pytest.mark.parametrize("program", [AGENT, INTERRUPT], ids=lambda p: p.name)
def test_serve_answers_a_thread_session_with_the_live_events(
    langgraph_server: LangGraphDevServer,
    tmp_path: Path,
    program: Program,
    recorded: str,
    served: str,
) -> None:
    """A session recorded over one transport is served over either, at the recorded pace:
    a new thread id, the same events, values, interrupts and output as live."""
    path = tmp_path / "session.json"
    live = _record(langgraph_server, path, program, recorded)
    with BackgroundServer(replay_app(path, speed=1.0)) as server:
        replayed = asyncio.run(run_async(server.url, program, served, None))
    assert replayed.events == live.events
    if program is AGENT:
        # The session stops reading thread.values when the output is in; after an
        # interrupt, how many snapshots arrived by then varies even live.
        assert replayed.values == live.values
    assert replayed.interrupts == live.interrupts
    assert replayed.output == live.output
    assert replayed.run_ids == live.run_ids


def test_serve_answers_the_sync_sdk(langgraph_server: LangGraphDevServer, tmp_path: Path) -> None:
    """The sync SDK's thread stream gets the recorded events and output from serve."""
    path = tmp_path / "session.json"
    live = _record(langgraph_server, path, AGENT, "sse")
    with BackgroundServer(replay_app(path, speed=None)) as server:
        replayed = run_sync(server.url, AGENT, "sse", None)
    assert replayed.events == live.events
    assert replayed.output == live.output


def test_serve_filters_by_channel_and_echoes_command_ids(
    langgraph_server: LangGraphDevServer, tmp_path: Path
) -> None:
    """A command's reply carries the request's own id (JS counts differently); a
    subscription opened after the run gets the buffered events of its channels only."""
    path = tmp_path / "session.json"
    live = _record(langgraph_server, path, AGENT, "sse")
    thread = "/threads/0190e5e0-0000-7000-8000-000000000001"
    with _served_http(path) as http:
        command = _start_agent(4)
        reply = http.post(f"{thread}/commands", json=command).json()
        assert reply["id"] == 4
        assert reply["result"]["run_id"] == live.run_ids[0]
        seen = []
        body = {"channels": ["lifecycle"]}
        with http.stream("POST", f"{thread}/stream/events", json=body) as response:
            for line in response.iter_lines():
                if line.startswith("event: "):
                    seen.append(line.removeprefix("event: "))
                if len(seen) == 2:
                    break
        state = http.get(f"{thread}/state").json()
    assert seen == ["lifecycle", "lifecycle"]
    assert state["values"] == live.output


def test_serve_explains_an_unknown_run_start(
    langgraph_server: LangGraphDevServer, tmp_path: Path
) -> None:
    """A run.start no recording answers gets an error reply naming what differs."""
    path = tmp_path / "session.json"
    _record(langgraph_server, path, AGENT, "sse")
    with _served_http(path) as http:
        command = {
            "id": 1,
            "method": "run.start",
            "params": {"assistant_id": "joke", "input": {}},
        }
        response = http.post("/threads/t-1/commands", json=command)
    assert response.status_code == 404
    assert response.json()["id"] == 1
    assert "assistant_id" in response.json()["message"]


def test_serve_sends_heartbeats_on_a_quiet_subscription(
    langgraph_server: LangGraphDevServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subscription with nothing more to send gets heartbeat comments at the heartbeat
    interval (what the SDKs' idle watchdogs measure), and stays open."""
    monkeypatch.setattr(serve_threads, "HEARTBEAT", 0.2)
    path = tmp_path / "session.json"
    _record(langgraph_server, path, AGENT, "sse")
    thread = "/threads/0190e5e0-0000-7000-8000-000000000002"
    lines: list[str] = []
    with _served_http(path) as http:
        command = _start_agent(1)
        assert http.post(f"{thread}/commands", json=command).status_code == 200
        body = {"channels": ["lifecycle"]}
        with http.stream("POST", f"{thread}/stream/events", json=body) as response:
            for line in response.iter_lines():
                lines.append(line)
                if lines.count(": ping") == 3:
                    break
    events = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
    assert events == ["lifecycle", "lifecycle"]
    # Every heartbeat comes after the run's last event: the stream stayed open.
    last_event = max(i for i, line in enumerate(lines) if line.startswith("event: "))
    assert min(i for i, line in enumerate(lines) if line == ": ping") > last_event
