"""Sealed sessions against the real ``langgraph dev``: clients built anywhere, ids the client
mints, replay that never connects, streams open at once kept in order.

Each test records live through the SDK, then replays with a listener sitting on the URL the
client uses: the listener counts connections, and replay must make none.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client, get_sync_client
from loopback import loopback_server

from streamcassette import UnmatchedRequestError, load, use_cassette

pytestmark = pytest.mark.live

JOKE = {"topic": "ice cream"}


def human(text: str, message_id: str) -> dict[str, Any]:
    return {"messages": [{"id": message_id, "type": "human", "content": text}]}


def message_ids(parts: list[Any]) -> list[str]:
    """The ids of every message in the ``values`` parts."""
    return [
        message["id"]
        for part in parts
        if part.event == "values"
        for message in part.data.get("messages", [])
    ]


@pytest.mark.anyio
async def test_module_level_clients_are_recorded_and_replayed(
    tmp_path: Path, langgraph_url: str
) -> None:
    """Clients built before the cassette (as an app module does at import) are captured."""
    async_client = get_client(url=langgraph_url)
    sync_client = get_sync_client(url=langgraph_url)
    path = tmp_path / "module.json"
    with use_cassette(path, mode="record"):
        live_async = [p async for p in async_client.runs.stream(None, "joke", input=JOKE)]
        live_sync = list(sync_client.runs.stream(None, "joke", input=JOKE))
    assert len(load(path).interactions) == 2
    with loopback_server() as listener:
        replay_async = get_client(url=listener.url)
        replay_sync = get_sync_client(url=listener.url)
        with use_cassette(path):
            assert [p async for p in replay_async.runs.stream(None, "joke", input=JOKE)] == (
                live_async
            )
            assert list(replay_sync.runs.stream(None, "joke", input=JOKE)) == live_sync
        replay_sync.close()
    assert listener.connections == 0
    sync_client.close()
    await async_client.aclose()


def test_a_fresh_message_id_per_run_binds_to_the_recorded_one(
    tmp_path: Path, langgraph_url: str
) -> None:
    """A front end's fresh message id matches the recording, and comes back in the frames."""
    path = tmp_path / "message-ids.json"
    recorded_id = str(uuid.uuid4())
    with use_cassette(path, mode="record"):
        client = get_sync_client(url=langgraph_url)
        thread = client.threads.create()
        live = list(
            client.runs.stream(
                thread["thread_id"], "agent", input=human("hi", recorded_id), stream_mode="values"
            )
        )
        client.close()
    assert recorded_id in message_ids(live)
    fresh_id = str(uuid.uuid4())
    with loopback_server() as listener, use_cassette(path):
        client = get_sync_client(url=listener.url)
        thread = client.threads.create()
        replayed = list(
            client.runs.stream(
                thread["thread_id"], "agent", input=human("hi", fresh_id), stream_mode="values"
            )
        )
        client.close()
    assert listener.connections == 0
    assert fresh_id in message_ids(replayed)  # the client's own id, where it had recorded_id
    assert recorded_id not in message_ids(replayed)
    assert [p.event for p in replayed] == [p.event for p in live]


def test_client_chosen_thread_ids_bind_and_come_back(tmp_path: Path, langgraph_url: str) -> None:
    """``threads.create(thread_id=uuid4())`` then runs on it replay with a new uuid."""
    path = tmp_path / "thread-ids.json"
    with use_cassette(path, mode="record"):
        client = get_sync_client(url=langgraph_url)
        recorded = client.threads.create(thread_id=str(uuid.uuid4()))
        live = list(client.runs.stream(recorded["thread_id"], "joke", input=JOKE))
        live_state = client.threads.get_state(recorded["thread_id"])
        client.close()
    new_thread = str(uuid.uuid4())
    with use_cassette(path):
        client = get_sync_client(url="http://127.0.0.1:9")
        created = client.threads.create(thread_id=new_thread)
        replayed = list(client.runs.stream(new_thread, "joke", input=JOKE))
        state = client.threads.get_state(new_thread)
        client.close()
    assert created["thread_id"] == new_thread
    assert [p.data for p in replayed if p.event == "updates"] == [
        p.data for p in live if p.event == "updates"
    ]
    assert state["values"] == live_state["values"]
    assert state["checkpoint"]["thread_id"] == new_thread  # the recorded id, rewritten
    assert recorded["thread_id"] not in str(state)


def test_a_different_thread_than_recorded_is_explained(tmp_path: Path, langgraph_url: str) -> None:
    """Once a thread is bound, a request naming another thread is a mismatch that says so."""
    path = tmp_path / "two-requests.json"
    with use_cassette(path, mode="record"):
        client = get_sync_client(url=langgraph_url)
        thread = client.threads.create(thread_id=str(uuid.uuid4()))
        client.threads.get_state(thread["thread_id"])
        client.close()
    with use_cassette(path):
        client = get_sync_client(url="http://127.0.0.1:9")
        client.threads.create(thread_id=str(uuid.uuid4()))
        other = str(uuid.uuid4())
        with pytest.raises(UnmatchedRequestError) as info:
            client.threads.get_state(other)
        client.close()
    message = str(info.value)
    assert f"GET /threads/{other}/state" in message
    assert f"path (thread): {other} stands where the recording had {thread['thread_id']}" in message
    assert "a different thread than the recording used" in message


def test_alias_ids_off_matches_ids_exactly(tmp_path: Path, langgraph_url: str) -> None:
    """With alias_ids=False a client-minted id no longer matches the recording."""
    path = tmp_path / "exact.json"
    with use_cassette(path, mode="record"):
        client = get_sync_client(url=langgraph_url)
        client.threads.create(thread_id=str(uuid.uuid4()))
        client.close()
    with use_cassette(path, alias_ids=False):
        client = get_sync_client(url="http://127.0.0.1:9")
        with pytest.raises(UnmatchedRequestError, match="body thread_id"):
            client.threads.create(thread_id=str(uuid.uuid4()))
        client.close()


@pytest.mark.anyio
async def test_a_v3_thread_stream_replays_with_a_new_client_minted_thread(
    tmp_path: Path, langgraph_url: str
) -> None:
    """``client.threads.stream()`` mints its thread id: replay binds the new one and the
    session's several streams play in their recorded order."""
    path = tmp_path / "v3.json"
    with use_cassette(path, mode="record"):
        client = get_client(url=langgraph_url)
        async with client.threads.stream(assistant_id="joke") as thread:
            recorded_thread = thread.thread_id
            await thread.run.start(input=JOKE)
            live_output = await thread.output
        await client.aclose()
    recorded = load(path)
    assert len(recorded.interactions) >= 3
    assert all(interaction.started is not None for interaction in recorded.interactions)
    with loopback_server() as listener, use_cassette(path):
        client = get_client(url=listener.url)
        async with client.threads.stream(assistant_id="joke") as thread:
            assert thread.thread_id != recorded_thread
            await thread.run.start(input=JOKE)
            replayed_output = await thread.output
        await client.aclose()
    assert listener.connections == 0
    assert replayed_output == live_output


def test_plain_httpx_client_on_the_server_url(tmp_path: Path, langgraph_url: str) -> None:
    """A plain httpx client calling the REST API is recorded when its URL is the session's."""
    path = tmp_path / "rest.json"
    with (
        httpx.Client(base_url=langgraph_url) as http,
        use_cassette(path, mode="record", urls=[langgraph_url]),
    ):
        live = http.post("/assistants/search", json={"graph_id": "joke"}).json()
    with (
        loopback_server() as listener,
        httpx.Client(base_url=listener.url) as http,
        use_cassette(path, urls=[listener.url]),
    ):
        replayed = http.post("/assistants/search", json={"graph_id": "joke"}).json()
    assert replayed == live
    assert listener.connections == 0
