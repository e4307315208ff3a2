"""A v3 session whose projection stream drops mid-run: the SDK reconnects with ``since``,
and the recording replays the drop and the reconnect as they happened."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from cutting_relay import cutting_relay
from thread_sessions import Program, Seen, opens_values_stream, run_async, run_sync

from streamcassette import load, use_cassette
from streamcassette._cassette import StreamEnd
from streamcassette.devserver import LangGraphDevServer

DEAD_URL = "http://127.0.0.1:9"  # discard port: nothing answers there
WEATHER = {"messages": [{"role": "user", "content": "what's the weather in la"}]}
PROGRAM = Program("tool-agent", "tool_agent", WEATHER)


def _session(flavor: str, url: str) -> Seen:
    if flavor == "async":
        return asyncio.run(run_async(url, PROGRAM, "sse", None))
    return run_sync(url, PROGRAM, "sse", None)


@pytest.mark.parametrize("flavor", ["async", "sync"])
def test_a_dropped_projection_stream_reconnects_in_replay_as_live(
    langgraph_server: LangGraphDevServer, tmp_path: Path, flavor: str
) -> None:
    """The drop is recorded where it happened, the SDK's reconnect (``since`` its cursor) is
    recorded after it, and replay gives the session the same events, values and output."""
    path = tmp_path / "session.json"
    port = int(langgraph_server.url.rsplit(":", 1)[1])
    with (
        cutting_relay(port, opens_values_stream, after_frames=2) as relay,
        use_cassette(path, mode="record", urls=[relay.url]),
    ):
        live = _session(flavor, relay.url)
    assert relay.cuts == 1
    projection = [
        interaction
        for interaction in load(path).interactions
        if interaction.request.path.endswith("/stream/events")
        and interaction.request.body is not None
        and b'"since":' in interaction.request.body.content
    ]
    assert len(projection) >= 2, "the SDK did not reconnect"
    dropped = projection[0].response
    assert dropped is not None
    assert dropped.stream is not None
    assert dropped.stream.end is StreamEnd.DROPPED
    assert len(list(dropped.stream.events())) == 2
    resumed_since = json.loads(projection[1].request.body.content)["since"]  # type: ignore[union-attr]
    assert resumed_since > 0  # the reconnect asks only for what the drop lost
    assert live.output is not None
    assert live.values or flavor == "sync"  # the sync program reads no thread.values

    for _ in range(2):
        with use_cassette(path, urls=[relay.url], require_all_played=True):
            replayed = _session(flavor, relay.url)
        assert replayed.events == live.events
        assert replayed.output == live.output
        if flavor == "async":
            assert replayed.values == live.values
