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


def _split_at_the_interrupt(rounds: list[list[dict]]) -> tuple[list[int], list[int]]:
    """The seqs each loop must have yielded: up to the ``interrupted`` lifecycle event in the
    first, from the resumed run's ``running`` on in the second. An event the server sends
    between the two (the trailing values) lands in either, as the SDK's pause timer and the
    network decide, live too."""
    events = [event for events in rounds for event in events]
    lifecycle = [e for e in events if e["method"] == "lifecycle"]
    interrupted = next(e["seq"] for e in lifecycle if e["params"]["data"]["event"] == "interrupted")
    resumed = next(e["seq"] for e in lifecycle if e["seq"] > interrupted)
    first = [e["seq"] for e in events if e["seq"] <= interrupted]
    second = [e["seq"] for e in events if e["seq"] >= resumed]
    return first, second


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_js_thread_session_after_an_interrupt_replays_from_serve_as_live(
    langgraph_server: LangGraphDevServer, tmp_path: Path, transport: str
) -> None:
    """At an interrupt the JS SDK 1.15 ends its subscription's loop (it pauses it); after
    respond a new loop gets the continuation. Through serve, the two loops yield what they
    yielded live (the run up to its interrupt, then the resumed run to its end), with the
    same interrupt, and ``thread.output`` settles as it does live."""
    plan = [
        {
            "op": "threadStream",
            "assistant": "interrupting",
            "input": {},
            "respond": "yes",
            "transport": transport,
        }
    ]
    with BackgroundServer(proxy_app(langgraph_server.url, tmp_path)) as proxy:
        live = run_js(proxy.url, plan)[0]
    with BackgroundServer(replay_app(tmp_path, speed=1.0)) as server:
        replayed = run_js(server.url, plan)[0]
    assert [item["payload"] for item in live["interrupts"]] == [{"question": "approve?"}]
    paused, resumed = live["rounds"]
    assert paused[-1]["seq"] < resumed[0]["seq"]
    assert resumed[-1]["params"]["data"]["event"] == "completed"
    assert {"approved": "yes"} in [e["params"]["data"] for e in resumed if e["method"] == "values"]
    assert replayed["events"] == live["events"]
    assert len(replayed["rounds"]) == 2
    first, second = _split_at_the_interrupt(live["rounds"])
    for seen in (live, replayed):
        assert [e["seq"] for e in seen["rounds"][0]][: len(first)] == first
        assert [e["seq"] for e in seen["rounds"][1]][-len(second) :] == second
    assert replayed["interrupts"] == live["interrupts"]
    for seen in (live, replayed):
        # thread.output settles when the pause ends its values projection's loop: the last
        # values it got before (none when the trailing values came after the pause).
        values = [e["params"]["data"] for e in seen["rounds"][0] if e["method"] == "values"]
        assert seen.get("output") == (values[-1] if values else None)
