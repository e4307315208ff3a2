"""v3 thread sessions through ``streamcassette proxy`` (Python SDK over SSE and WebSocket, the
JS SDK 1.x): one cassette per run, which ``streamcassette serve`` then replays."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from jsclient import run_js
from thread_sessions import Program, run_async

from streamcassette import load
from streamcassette.devserver import LangGraphDevServer
from streamcassette.serve import BackgroundServer, proxy_app, replay_app

WEATHER = {"messages": [{"role": "user", "content": "what's the weather in la"}]}
AGENT = Program("tool-agent", "tool_agent", WEATHER)


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_python_thread_session_through_the_proxy_replays_from_serve(
    langgraph_server: LangGraphDevServer, tmp_path: Path, transport: str
) -> None:
    """The proxy records a v3 session (commands, event streams, state) as one cassette on
    one clock; serve gives a new session the same events and output."""
    with BackgroundServer(proxy_app(langgraph_server.url, tmp_path)) as proxy:
        live = asyncio.run(run_async(proxy.url, AGENT, transport, None))
    assert sorted(path.name for path in tmp_path.glob("*.json")) == ["tool_agent-threads-1.json"]
    cassette = load(tmp_path / "tool_agent-threads-1.json")
    methods = {interaction.request.method for interaction in cassette.interactions}
    assert methods == (
        {"POST", "GET", "WEBSOCKET"} if transport == "websocket" else {"POST", "GET"}
    )
    assert all(interaction.started is not None for interaction in cassette.interactions)
    with BackgroundServer(replay_app(tmp_path, speed=1.0)) as server:
        replayed = asyncio.run(run_async(server.url, AGENT, transport, None))
    assert replayed.events == live.events
    assert replayed.output == live.output
    assert replayed.run_ids == live.run_ids


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_js_thread_session_recorded_through_the_proxy_replays_from_serve(
    langgraph_server: LangGraphDevServer, tmp_path: Path, transport: str
) -> None:
    """A JS SDK 1.x thread stream (its own command ids and subscriptions; over WebSocket,
    its commands too) recorded through the proxy is answered by serve with the events and
    output it got live."""
    plan = [{"op": "threadStream", "assistant": "tool_agent", "input": WEATHER}]
    plan[0]["transport"] = transport
    with BackgroundServer(proxy_app(langgraph_server.url, tmp_path)) as proxy:
        live = run_js(proxy.url, plan)
    assert sorted(path.name for path in tmp_path.glob("*.json")) == ["tool_agent-threads-1.json"]
    with BackgroundServer(replay_app(tmp_path, speed=1.0)) as server:
        replayed = run_js(server.url, plan)
    assert replayed[0]["events"] == live[0]["events"]
    assert replayed[0]["output"] == live[0]["output"]
    assert live[0]["events"][-1]["params"]["data"]["event"] == "completed"
