"""Bounded input: body caps in serve and proxy, clipped echoes, nesting depth and number
ranges checked on load, and a proxy that keeps no finished recording."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_proxy import RUN, FakeServer

from streamcassette import CassetteFormatError, load, loads, save
from streamcassette._cassette import Body, Cassette, Interaction, RecordedRequest, RecordedResponse
from streamcassette._format import MAX_JSON_DEPTH
from streamcassette.serve import BackgroundServer, proxy_app, replay_app
from streamcassette.serve._proxy import RecordingProxy

BUNDLED = Path(__file__).parents[1] / "cassettes" / "joke.json"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=30) as client:
        yield client


# --- serve and proxy: request bodies --------------------------------------------------------


def test_serve_refuses_a_body_over_the_cap_with_413(http: httpx.Client) -> None:
    """A body over ``max_body`` gets a LangGraph-style 413 naming the option to raise it."""
    with BackgroundServer(replay_app(BUNDLED, speed=None, max_body=1024)) as server:
        response = http.post(f"{server.url}/runs/stream", content=b"x" * 4096)
        streamed = http.post(
            f"{server.url}/runs/stream", content=iter([b"{" + b" " * 700] * 4)
        )  # chunked: no Content-Length to go by
    assert response.status_code == 413
    assert "--max-body-mib" in response.json()["detail"]
    assert streamed.status_code == 413


def test_serve_answers_deep_json_with_a_json_4xx(http: httpx.Client) -> None:
    """``[`` x 100,000 is a 422 JSON error, not a 500 traceback."""
    with BackgroundServer(replay_app(BUNDLED, speed=None)) as server:
        response = http.post(f"{server.url}/runs/stream", content=b"[" * 100_000)
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["detail"]


def test_serve_clips_what_it_echoes_in_a_404(http: httpx.Client) -> None:
    """A miss with a huge input echoes only the start of it."""
    body = {"assistant_id": "joke", "input": {"topic": "z" * 100_000}}
    with BackgroundServer(replay_app(BUNDLED, speed=None)) as server:
        response = http.post(f"{server.url}/runs/stream", json=body)
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert "more characters)" in detail
    assert len(detail) < 5_000


def test_proxy_refuses_a_body_over_the_cap_and_forwards_nothing(
    tmp_path: Path, http: httpx.Client
) -> None:
    """The proxy answers an oversized body with 413 and never sends it upstream."""
    fake = FakeServer()
    app = proxy_app(
        "http://upstream.invalid", tmp_path, transport=httpx.MockTransport(fake), max_body=1024
    )
    with BackgroundServer(app) as proxy:
        response = http.post(f"{proxy.url}/runs/stream", content=b"x" * 4096)
    assert response.status_code == 413
    assert fake.seen == []


def test_proxy_forwards_a_deep_body_with_a_secret_and_writes_no_secret(
    tmp_path: Path, http: httpx.Client
) -> None:
    """A run body nested 300 levels deep with a secret-looking key is passed on (no 500 from
    re-encoding it) and its secret is not written."""
    fake = FakeServer()
    app = proxy_app("http://upstream.invalid", tmp_path, transport=httpx.MockTransport(fake))
    deep = {"api_key": "deep-SECRET-1234"}
    for _ in range(300):
        deep = {"a": deep}
    body = {**RUN, "input": deep}
    with BackgroundServer(app) as proxy:
        response = http.post(
            f"{proxy.url}/threads/t-1/runs/stream",
            content=json.dumps(body).encode(),
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 200
    assert b"deep-SECRET-1234" in fake.seen[0].content  # the server still gets it
    written = [path.read_bytes() for path in tmp_path.iterdir() if path.is_file()]
    assert written
    assert not any(b"deep-SECRET-1234" in data for data in written)


# --- the proxy lets recordings go, and never shares a name ---------------------------------


def test_proxy_holds_no_finished_cassette(tmp_path: Path, http: httpx.Client) -> None:
    """After each run the proxy keeps only where its cassette is, not the recording; a late
    request on the run is still filed into it."""
    fake = FakeServer()
    app = proxy_app("http://upstream.invalid", tmp_path, transport=httpx.MockTransport(fake))
    proxy: RecordingProxy = app.state.proxy
    with BackgroundServer(app) as server:
        http.post(f"{server.url}/threads", json={})
        for _ in range(5):
            http.post(f"{server.url}/threads/t-1/runs/stream", json=RUN)
        http.get(f"{server.url}/threads/t-1/runs/r-5")  # late: after its run finished
    # Stopped: every request is filed (a client may finish reading before the proxy does).
    groups = {id(group): group for group in proxy._groups_by_run.values()}
    assert len(groups) == 5
    assert all(group.cassette is None for group in groups.values())
    last = load(tmp_path / "joke-values-5.json")
    assert [i.request.describe() for i in last.interactions] == [
        "POST /threads/t-1/runs/stream",
        "GET /threads/t-1/runs/r-5",
    ]


def test_two_proxies_on_one_folder_never_take_the_same_name(tmp_path: Path) -> None:
    """Names are taken by exclusive create: two proxies reserving at once get distinct files."""
    proxies = [RecordingProxy("http://upstream.invalid", tmp_path) for _ in range(2)]
    taken: list[Path] = []
    lock = threading.Lock()

    def reserve(proxy: RecordingProxy) -> None:
        for _ in range(25):
            path = proxy._reserve("joke-values")
            with lock:
                taken.append(path)

    threads = [threading.Thread(target=reserve, args=(proxy,)) for proxy in proxies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(taken)) == 50
    assert all(load(path).interactions == [] for path in taken)  # a valid empty cassette


# --- loading: depth and ranges ------------------------------------------------------------


def document(**response: Any) -> dict[str, Any]:
    return {
        "format": "streamcassette",
        "version": 3,
        "interactions": [
            {
                "request": {"method": "GET", "path": "/x"},
                "response": {"status": 200, "headers": [], **response},
            }
        ],
    }


def nested(depth: int) -> str:
    """A JSON list ``depth`` levels deep, as text (``json.dumps`` would recurse)."""
    return "[" * depth + "1" + "]" * depth


def test_deep_json_body_is_a_named_format_error() -> None:
    """A 990-deep JSON body is refused by name, not with a RecursionError."""
    text = json.dumps(document(json="DEEP")).replace('"DEEP"', nested(990))
    with pytest.raises(CassetteFormatError) as caught:
        loads(text, path="deep.json")
    message = str(caught.value)
    assert "deep.json: interactions[0].response.json" in message
    assert f"deeper than the {MAX_JSON_DEPTH}" in message


def test_deep_body_recorded_is_saved_as_text_and_loads(tmp_path: Path) -> None:
    """A recorded body nested past the limit is kept byte for byte as text, and loads."""
    content = nested(990).encode()
    interaction = Interaction(
        request=RecordedRequest("POST", "/x", body=Body(content)),
        response=RecordedResponse(200, body=Body(content)),
    )
    path = save(Cassette(interactions=[interaction]), tmp_path / "deep.json")
    loaded = load(path)
    assert loaded.interactions[0].request.body == Body(content)
    assert loaded.interactions[0].response.body == Body(content)  # type: ignore[union-attr]
    assert loaded.interactions[0].request.body.json_or_none() is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("response", "where", "problem"),
    [
        ({"status": 2**63 - 1}, "response.status", "must be an HTTP status"),
        ({"status": -1}, "response.status", "must be an HTTP status"),
        ({"stream": {"end": "closed", "duration": 1e308, "frames": []}}, "duration", "week"),
        (
            {"stream": {"end": "closed", "duration": 1.0, "frames": [[1e308, "data: x\n\n"]]}},
            "frames[0]",
            "under a week",
        ),
    ],
    ids=["status-huge", "status-negative", "duration-huge", "frame-time-huge"],
)
def test_numbers_out_of_range_are_named(response: dict[str, Any], where: str, problem: str) -> None:
    """Statuses outside 100-599 and times of a week or more are refused, naming the field."""
    doc = document(**response)
    doc["interactions"][0]["response"].update(response)
    with pytest.raises(CassetteFormatError) as caught:
        loads(json.dumps(doc), path="bad.json")
    assert where in str(caught.value)
    assert problem in str(caught.value)
