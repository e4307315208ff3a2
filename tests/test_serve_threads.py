"""``streamcassette serve`` speaks the v3 thread protocol: commands, event streams over SSE
and WebSocket, and state, from a recorded session; the SDK sees what it saw live."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_sync_client
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
        # thread.values ends at an interrupt; how many snapshots arrived by then varies
        # even live.
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


@pytest.mark.parametrize(
    "program", [AGENT, Program("failing", "failing", {})], ids=lambda p: p.name
)
def test_a_served_thread_reads_as_the_live_thread_after_its_session(
    langgraph_server: LangGraphDevServer, tmp_path: Path, program: Program
) -> None:
    """``threads.get`` of a thread served over the v3 protocol gives the status and values
    the live server gave for the recorded thread (``idle``, or ``error`` after a failed
    run), under the thread id the client minted."""
    path = tmp_path / "session.json"
    live_thread, served_thread = str(uuid.uuid4()), str(uuid.uuid4())
    with use_cassette(path, mode="record"):
        asyncio.run(run_async(langgraph_server.url, program, "sse", live_thread))
    with get_sync_client(url=langgraph_server.url) as client:
        live = client.threads.get(live_thread)
    with BackgroundServer(replay_app(path, speed=None)) as server:
        asyncio.run(run_async(server.url, program, "sse", served_thread))
        with get_sync_client(url=server.url) as client:
            served = client.threads.get(served_thread)
    assert served["thread_id"] == served_thread
    assert served["status"] == live["status"]
    assert served["status"] == ("error" if program.graph == "failing" else "idle")
    # The values the recorded run streamed: its messages in the stream's own (lighter)
    # serialisation, so they are compared by what they say.
    assert _said(served["values"]) == _said(live["values"])


def _said(values: Any) -> Any:
    if not isinstance(values, dict):
        return values
    return [(m["type"], m.get("content"), m.get("id")) for m in values.get("messages", [])]


def test_thread_search_lists_a_served_v3_thread_with_its_status(
    langgraph_server: LangGraphDevServer, tmp_path: Path
) -> None:
    """``threads.search`` on serve lists a thread served over the v3 protocol, under the
    client's id, and its status filter keeps it only under its own status."""
    path = tmp_path / "session.json"
    _record(langgraph_server, path, AGENT, "sse")
    served_thread = str(uuid.uuid4())
    with BackgroundServer(replay_app(path, speed=None)) as server:
        asyncio.run(run_async(server.url, AGENT, "sse", served_thread))
        with get_sync_client(url=server.url) as client:
            listed = client.threads.search(limit=10)
            idle = client.threads.search(status="idle", limit=10)
            busy = client.threads.search(status="busy", limit=10)
    assert served_thread in [thread["thread_id"] for thread in listed]
    assert served_thread in [thread["thread_id"] for thread in idle]
    assert served_thread not in [thread["thread_id"] for thread in busy]
