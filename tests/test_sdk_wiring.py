"""How a cassette session reaches clients: at httpx's transport layer, sealed in replay.

These tests use a tiny real loopback server (``loopback.py``); the LangGraph-specific flows
(module-level SDK clients, client-minted ids, threads.stream) are in test_live_sealed.py.
"""

from __future__ import annotations

import socket
import warnings
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import LangGraphClient
from loopback import loopback_server

from streamcassette import (
    BlockedNetworkError,
    BlockedRequestError,
    Cassette,
    CassetteNotFoundError,
    CassetteSession,
    EmptyRecordingWarning,
    ReplayTransport,
    UnplayedInteractionsError,
    load,
    save,
    use_cassette,
)

ORIGINAL_SYNC = httpx.HTTPTransport.handle_request
ORIGINAL_ASYNC = httpx.AsyncHTTPTransport.handle_async_request


def test_sdk_client_built_before_the_block_is_recorded_and_replayed(tmp_path: Path) -> None:
    """A client made at import time is seen: recorded live, then replayed with no server."""
    path = tmp_path / "c.json"
    with loopback_server() as server:
        client = get_sync_client(url=server.url, api_key=None)  # built before any cassette
        with use_cassette(path, mode="record"):
            live = client.assistants.search()
        assert server.requests == ["POST /assistants/search", "GET /info"]  # info: provenance
    assert len(load(path).interactions) == 1
    with loopback_server(server.port) as listener, use_cassette(path):
        assert client.assistants.search() == live
    assert listener.connections == 0  # the same port, listening: replay never connected
    client.close()


@pytest.mark.anyio
async def test_async_sdk_client_with_custom_mounts_is_intercepted(tmp_path: Path) -> None:
    """An async client whose requests go through a mount of its own is recorded too."""
    path = tmp_path / "c.json"
    with loopback_server() as server:
        mounts = {server.url: httpx.AsyncHTTPTransport(retries=1)}
        http = httpx.AsyncClient(base_url=server.url, mounts=mounts)
        client = LangGraphClient(http)  # no SDK user agent: the URL says it is the server
        with use_cassette(path, mode="record", urls=[server.url]):
            live = await client.threads.search()
    with use_cassette(path, urls=[server.url]):
        assert await client.threads.search() == live
    await http.aclose()
    assert [i.request.path for i in load(path).interactions] == ["/threads/search"]


def test_plain_httpx_client_to_a_session_url_is_recorded(tmp_path: Path) -> None:
    """A plain httpx client calling the server's REST API counts when its URL is given."""
    path = tmp_path / "c.json"
    with loopback_server() as server, httpx.Client(base_url=server.url) as http:
        with use_cassette(path, mode="record", urls=[server.url]):
            live = http.get("/ok").json()
        untouched = http.get("/outside").json()  # after the block: not recorded
    assert untouched["path"] == "/outside"
    with httpx.Client(base_url=server.url) as http, use_cassette(path, urls=[server.url]):
        assert http.get("/ok").json() == live
    assert [i.request.path for i in load(path).interactions] == ["/ok"]


def test_recording_leaves_other_hosts_alone(tmp_path: Path) -> None:
    """While recording, a request that is not the server's goes out and is not recorded."""
    path = tmp_path / "c.json"
    with (
        loopback_server() as server,
        loopback_server() as other,
        use_cassette(path, mode="record", urls=[server.url]),
    ):
        httpx.get(server.url + "/ok")
        assert httpx.get(other.url + "/elsewhere").json()["path"] == "/elsewhere"
    assert [i.request.path for i in load(path).interactions] == ["/ok"]


def test_replay_blocks_other_hosts_with_the_setting_that_allows_them(tmp_path: Path) -> None:
    """A replayed block that reaches another host fails, naming the host and allow_hosts."""
    path = save(Cassette(), tmp_path / "c.json")
    with loopback_server() as other:
        with use_cassette(path) as session:
            with pytest.raises(BlockedRequestError, match=r"127\.0\.0\.1 is not the LangGraph"):
                httpx.get(other.url + "/x")
            with pytest.raises(BlockedRequestError, match=r"allow_hosts=\[\.\.\.\]"):
                httpx.get(other.url + "/x")
        assert len(session.blocked_errors) == 2
        assert other.connections == 0
        with use_cassette(path, allow_hosts=[f"127.0.0.1:{other.port}"]):
            assert httpx.get(other.url + "/x").json()["path"] == "/x"
        assert other.connections == 1


def test_replay_blocks_raw_sockets_too(tmp_path: Path) -> None:
    """A connection made without httpx is refused during replay, and allowed after it."""
    path = save(Cassette(), tmp_path / "c.json")
    with loopback_server() as other:
        blocked = f"127.0.0.1:{other.port} was blocked"
        with (
            use_cassette(path),
            socket.socket() as raw,
            pytest.raises(BlockedNetworkError, match=blocked),
        ):
            raw.connect(("127.0.0.1", other.port))
        assert httpx.get(other.url + "/after").json()["path"] == "/after"
    assert other.requests == ["GET /after"]


def test_interception_is_undone_after_the_block(tmp_path: Path) -> None:
    """httpx's and socket's methods are the originals again once the last session ends."""
    path = save(Cassette(), tmp_path / "c.json")
    connect = socket.socket.connect
    with use_cassette(path), use_cassette(path):
        assert httpx.HTTPTransport.handle_request is not ORIGINAL_SYNC
    assert httpx.HTTPTransport.handle_request is ORIGINAL_SYNC
    assert httpx.AsyncHTTPTransport.handle_async_request is ORIGINAL_ASYNC
    assert socket.socket.connect is connect


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


def test_an_empty_recording_warns(tmp_path: Path) -> None:
    """A recording block in which nothing reached the server says so when it saves."""
    with (
        pytest.warns(EmptyRecordingWarning, match=r"c\.json: recorded no interaction"),
        use_cassette(tmp_path / "c.json", mode="record"),
    ):
        pass
    assert load(tmp_path / "c.json").interactions == []


def test_require_all_played_lists_what_was_never_asked(tmp_path: Path) -> None:
    """Interactions left unplayed are listed; require_all_played fails the block."""
    path = tmp_path / "c.json"
    with loopback_server() as server, use_cassette(path, mode="record", urls=[server.url]):
        httpx.get(server.url + "/one")
        httpx.get(server.url + "/two")
    with use_cassette(path, urls=[server.url]) as session:
        httpx.get(server.url + "/one")
    assert session.unplayed() == ["#1 GET /two"]
    with (
        pytest.raises(UnplayedInteractionsError, match=r"1 recorded interaction[\s\S]*#1 GET /two"),
        use_cassette(path, urls=[server.url], require_all_played=True),
    ):
        httpx.get(server.url + "/one")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with use_cassette(path, urls=[server.url], require_all_played=True):
            httpx.get(server.url + "/one")
            httpx.get(server.url + "/two")


def test_server_info_is_read_once_per_server(tmp_path: Path) -> None:
    """Saving many recordings from one server asks its /info once, not once per save."""
    with loopback_server() as server:
        for index in range(3):
            with use_cassette(tmp_path / f"c{index}.json", mode="record", urls=[server.url]):
                httpx.get(server.url + "/ok")
        assert server.requests.count("GET /info") == 1
    assert load(tmp_path / "c2.json").provenance["server"] == {"method": "GET", "path": "/info"}


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
