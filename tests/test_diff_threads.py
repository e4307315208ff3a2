"""Masking and diff in v3 terms: two recordings of the same thread session are equal after
masking (seq, event ids, stamps, ids), and a changed input is reported as state drift."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from thread_sessions import Program, run_async

from streamcassette import diff_cassettes, load, mask_cassette, use_cassette
from streamcassette.devserver import LangGraphDevServer

MODES = ["values", "messages", "lifecycle", "input"]


def _ask(content: str) -> Program:
    return Program("agent", "tool_agent", {"messages": [{"role": "user", "content": content}]})


def _record(
    server: LangGraphDevServer, path: Path, program: Program, transport: str = "sse"
) -> Path:
    with use_cassette(path, mode="record"):
        asyncio.run(run_async(server.url, program, transport, None))
    return path


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_two_recordings_of_a_thread_session_are_equal_after_masking(
    langgraph_server: LangGraphDevServer, tmp_path: Path, transport: str
) -> None:
    """Thread ids, run ids, seq, event ids, timestamps and tool-call ids mask away, over SSE
    and over WebSocket (whose messages are compared as the SSE frames they stand for)."""
    first = _record(langgraph_server, tmp_path / "a.json", _ask("weather?"), transport)
    second = _record(langgraph_server, tmp_path / "b.json", _ask("weather?"), transport)
    report = diff_cassettes(load(first), load(second), modes=MODES)
    assert report.equal, report.render_text()
    assert sum(stream.compared_frames for stream in report.streams) > 20
    masked = mask_cassette(load(first), events=lambda name: name == "lifecycle")
    text = "\n".join(stream.text() for stream in masked)
    assert '"seq":"<seq:1>"' in text
    assert '"timestamp":"<epoch_ms>"' in text


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_a_changed_input_is_reported_in_langgraph_words(
    langgraph_server: LangGraphDevServer, tmp_path: Path, transport: str
) -> None:
    """A different question shows as state values drift at the message's content."""
    first = _record(langgraph_server, tmp_path / "a.json", _ask("weather?"), transport)
    second = _record(langgraph_server, tmp_path / "b.json", _ask("weather in paris?"), transport)
    report = diff_cassettes(load(first), load(second), modes=MODES)
    assert not report.equal
    text = report.render_text()
    assert (
        "state values: params.data.messages[0].content: 'weather?' -> 'weather in paris?'" in text
    )
