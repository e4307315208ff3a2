"""The CLI on v3 thread sessions: ``record --protocol threads``, ``show``, ``play``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner
from thread_sessions import Program, run_async

from streamcassette import load, use_cassette
from streamcassette.cli import main

WEATHER = '{"messages": [{"role": "user", "content": "weather?"}]}'
ANSWER = "The weather in Los Angeles is sunny and 72 degrees."


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("transport", ["sse", "ws"])
def test_record_show_and_play_a_thread_session(
    langgraph_url: str, tmp_path: Path, transport: str
) -> None:
    """A v3 session recorded by the CLI is listed by ``show`` (WebSocket connections with
    their messages) and played offline by ``play`` with the answer's tokens inline."""
    path = tmp_path / "agent.json"
    recorded = _run(
        "record", langgraph_url, "tool_agent", "--protocol", "threads",
        "--transport", transport, "--input", WEATHER, "-o", str(path),
    )  # fmt: skip
    assert "Receiving new event of type: lifecycle..." in recorded
    cassette = load(path)
    assert any("/commands" in i.request.path for i in cassette.interactions)
    assert bool(list(cassette.websockets())) == (transport == "ws")

    shown = _run("show", str(path))
    if transport == "ws":
        assert "WEBSOCKET /threads/" in shown
        assert "closed by the client (1000)" in shown
        assert "      messages: " in shown

    played = _run("play", "--instant", str(path))
    assert f"Streaming tokens (messages)...\n{ANSWER}" in played
    assert played.count("Receiving new event of type: lifecycle...") == 2
    assert played.count("Receiving new event of type: values...") == 4


def test_play_answers_a_recorded_interrupt(langgraph_url: str, tmp_path: Path) -> None:
    """``play`` resumes an interrupted v3 run with the recorded answer and plays it to the
    end."""
    path = tmp_path / "interrupt.json"
    program = Program("interrupt", "interrupting", {}, respond="yes")
    with use_cassette(path, mode="record"):
        asyncio.run(run_async(langgraph_url, program, "sse", None))
    played = _run("play", "--instant", str(path))
    assert "{'event': 'interrupted', 'graph_name': 'interrupting'}" in played
    assert "{'event': 'completed', 'graph_name': 'interrupting'}" in played
