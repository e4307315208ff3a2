"""A request the client gives up before its answer (a cancelled task) is recorded as such,
and replay keeps it unanswered until the client gives it up again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client, get_sync_client

from streamcassette import load, use_cassette
from streamcassette.devserver import LangGraphDevServer


async def _wait_at_most(url: str, gate: Path, seconds: float) -> None:
    """A run that waits on a gate file nobody opens, given up after ``seconds``."""
    client = get_client(url=url)
    try:
        await asyncio.wait_for(
            client.runs.wait(None, "gated", input={"gate": str(gate)}), timeout=seconds
        )
    finally:
        await client.aclose()


def test_a_request_given_up_before_its_answer_is_recorded_and_replayed(
    langgraph_server: LangGraphDevServer, tmp_path: Path
) -> None:
    """The cassette loads (the request has a recorded client cancel, not a missing
    response); replay holds the request until the client cancels again; it counts as
    neither played nor unplayed; a client that waits longer is told why nothing came."""
    path = tmp_path / "abandoned.json"
    gate = tmp_path / "gate"
    try:
        with use_cassette(path, mode="record"), pytest.raises(TimeoutError):
            asyncio.run(_wait_at_most(langgraph_server.url, gate, 0.5))
    finally:
        gate.touch()  # lets the server's run end
    (interaction,) = load(path).interactions
    assert interaction.request.path == "/runs/wait"
    assert interaction.response is None
    assert interaction.error is not None
    assert interaction.error.by_client

    with use_cassette(path, require_all_played=True) as session:
        with pytest.raises(TimeoutError):
            asyncio.run(_wait_at_most(langgraph_server.url, gate, 0.5))
        assert session.unplayed() == []

    with use_cassette(path):
        client = get_sync_client(url=langgraph_server.url)
        try:
            with pytest.raises(httpx.ReadError, match="gave the request up"):
                client.runs.wait(None, "gated", input={"gate": str(gate)})
        finally:
            client.close()
