"""How CassetteSession wires SDK clients: once each, replay clients never built for network."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client, get_sync_client

from streamcassette import (
    AsyncRecordingTransport,
    Cassette,
    CassetteNotFoundError,
    CassetteSession,
    RecordingTransport,
    ReplayTransport,
    save,
)


def test_client_built_inside_patch_sdk_is_recorded_once(tmp_path: Path) -> None:
    """A session client made under patch_sdk() gets one recording layer, not two."""
    session = CassetteSession(tmp_path / "c.json", mode="record")
    with session.patch_sdk():
        async_client = session.client("http://127.0.0.1:9")
        sync_client = session.sync_client("http://127.0.0.1:9")
        own_client = get_client(url="http://127.0.0.1:9", api_key=None)
    for client in (async_client, own_client):
        transport = client.http.client._transport
        assert isinstance(transport, AsyncRecordingTransport)
        assert not isinstance(transport.transport, AsyncRecordingTransport)
    transport = sync_client.http.client._transport
    assert isinstance(transport, RecordingTransport)
    assert not isinstance(transport.transport, RecordingTransport)
    sync_client.close()


def test_replay_clients_sit_directly_on_the_replay_transport(tmp_path: Path) -> None:
    """Replay clients use the cassette's transport and send no key from the environment."""
    path = save(Cassette(), tmp_path / "c.json")
    session = CassetteSession(path)
    async_client = session.client()
    sync_client = session.sync_client()
    assert async_client.http.client._transport is session.replayer
    assert sync_client.http.client._transport is session.replayer
    assert isinstance(session.replayer, ReplayTransport)
    assert "x-api-key" not in sync_client.http.client.headers
    assert sync_client.http.client.headers["user-agent"].startswith("langgraph-sdk-py/")
    sync_client.close()


def test_patch_sdk_is_undone_after_the_block(tmp_path: Path) -> None:
    """Clients built after the block are ordinary SDK clients again."""
    path = save(Cassette(), tmp_path / "c.json")
    session = CassetteSession(path)
    with session.patch_sdk():
        inside = get_sync_client(url="http://127.0.0.1:9", api_key=None)
    outside = get_sync_client(url="http://127.0.0.1:9", api_key=None)
    assert inside.http.client._transport is session.replayer
    assert isinstance(outside.http.client._transport, httpx.HTTPTransport)
    inside.close()
    outside.close()


def test_missing_cassette_in_replay_says_how_to_record(tmp_path: Path) -> None:
    """Replaying a cassette that does not exist names it and says how to record it."""
    with pytest.raises(CassetteNotFoundError, match=r"nope\.json: no such cassette; record it"):
        CassetteSession(tmp_path / "nope.json")


def test_missing_mode_records_only_when_the_file_is_absent(tmp_path: Path) -> None:
    """mode='missing' records a new cassette and replays an existing one."""
    path = tmp_path / "c.json"
    assert CassetteSession(path, mode="missing").recording
    save(Cassette(), path)
    assert not CassetteSession(path, mode="missing").recording


def test_unknown_mode_is_rejected(tmp_path: Path) -> None:
    """A misspelt mode fails at once and lists the modes."""
    with pytest.raises(ValueError, match="mode must be one of replay, record, missing"):
        CassetteSession(tmp_path / "c.json", mode="recrod")  # type: ignore[arg-type]
