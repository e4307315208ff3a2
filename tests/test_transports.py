"""Recording and replay transports, driven offline by in-memory httpx transports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from streamcassette import (
    AsyncRecordingTransport,
    Cassette,
    CassetteEndError,
    RecordingTransport,
    ReplayTransport,
    StreamEnd,
    UnmatchedRequestError,
    load,
    save,
)
from streamcassette import _replay as replay_module

FRAMES = [
    b'event: metadata\r\ndata: {"run_id":"r1","attempt":1}\r\nid: 1-0\r\n\r\n',
    b'event: updates\r\ndata: {"refine_topic":{"topic":"ice cream and cats"}}\r\nid: 2-0\r\n\r\n',
    b'event: updates\r\ndata: {"generate_joke":{"joke":"a joke"}}\r\nid: 3-0\r\n\r\n',
]
SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "location": "/runs/r1/stream"}


class ChunkStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """Yields given chunks, then optionally raises, like a connection that drops."""

    def __init__(self, chunks: list[bytes], fail: Exception | None = None) -> None:
        self.chunks = chunks
        self.fail = fail
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.sent += 1
            yield chunk
        if self.fail is not None:
            raise self.fail

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            self.sent += 1
            yield chunk
        if self.fail is not None:
            raise self.fail


def sse_server(chunks: list[bytes], fail: Exception | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/stream"):
            return httpx.Response(200, headers=SSE_HEADERS, stream=ChunkStream(chunks, fail))
        return httpx.Response(200, json={"thread_id": "t1", "path": request.url.path})

    return httpx.MockTransport(handler)


def record(chunks: list[bytes], fail: Exception | None = None, **kwargs) -> Cassette:
    cassette = Cassette()
    transport = RecordingTransport(cassette, sse_server(chunks, fail), **kwargs)
    with httpx.Client(transport=transport, base_url="http://server") as client:
        client.post("/threads", json={})
        with client.stream("POST", "/threads/t1/runs/stream", json={"input": 1}) as response:
            try:
                for _ in response.iter_raw():
                    pass
            except httpx.HTTPError:
                pass
    return cassette


def test_recording_keeps_frames_timing_and_bodies() -> None:
    """A recorded stream holds every frame's bytes with rising offsets, and the plain body."""
    # Chunk boundaries fall mid-frame and mid-CRLF; the frames come out whole.
    data = b"".join(FRAMES)
    chunks = [data[:10], data[10:61], data[61:62], data[62:]]
    cassette = record(chunks)
    assert [i.request.describe() for i in cassette.interactions] == [
        "POST /threads",
        "POST /threads/t1/runs/stream",
    ]
    assert cassette.interactions[0].response is not None
    assert cassette.interactions[0].response.body is not None
    assert cassette.interactions[0].response.body.json()["thread_id"] == "t1"
    stream = cassette.interactions[1].response.stream  # type: ignore[union-attr]
    assert stream is not None
    assert [frame.raw for frame in stream.frames] == FRAMES
    offsets = [frame.at for frame in stream.frames]
    assert offsets == sorted(offsets)
    assert stream.end is StreamEnd.CLOSED
    assert stream.raw == data


def test_recorder_passes_each_chunk_on_before_reading_the_next() -> None:
    """The caller gets chunk one while the server has not yet been asked for chunk two."""
    inner = ChunkStream(list(FRAMES))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=SSE_HEADERS, stream=inner)

    transport = RecordingTransport(Cassette(), httpx.MockTransport(handler))
    with (
        httpx.Client(transport=transport) as client,
        client.stream("GET", "http://server/runs/r1/stream") as response,
    ):
        chunks = response.iter_raw()
        assert next(chunks) == FRAMES[0]
        assert inner.sent == 1


def test_dropped_connection_is_recorded_and_replayed_as_the_same_error() -> None:
    """A connection that breaks mid-frame keeps the partial tail and replays the same error."""
    cut = FRAMES[2][:20]
    cassette = record([FRAMES[0], FRAMES[1], cut], httpx.RemoteProtocolError("peer closed"))
    stream = cassette.interactions[1].response.stream  # type: ignore[union-attr]
    assert stream is not None
    assert stream.end is StreamEnd.DROPPED
    assert stream.tail == cut
    assert stream.error is not None
    assert stream.error.type == "RemoteProtocolError"

    received: list[bytes] = []

    def read_all() -> None:
        with (
            httpx.Client(transport=ReplayTransport(cassette), base_url="http://x") as client,
            client.stream("POST", "/threads/t1/runs/stream", json={"input": 1}) as response,
        ):
            received.extend(response.iter_raw())

    with pytest.raises(httpx.RemoteProtocolError, match="peer closed"):
        read_all()
    assert received == [FRAMES[0], FRAMES[1], cut]


def test_client_that_stops_reading_is_recorded_and_replay_says_so() -> None:
    """A client that closes early records client_stopped; reading further on replay fails."""
    cassette = Cassette()
    transport = RecordingTransport(cassette, sse_server(list(FRAMES)))
    with (
        httpx.Client(transport=transport) as client,
        client.stream("GET", "http://server/runs/r1/stream") as response,
    ):
        next(response.iter_raw())
    stream = cassette.interactions[0].response.stream  # type: ignore[union-attr]
    assert stream is not None
    assert stream.end is StreamEnd.CLIENT_STOPPED
    assert [frame.raw for frame in stream.frames] == [FRAMES[0]]

    with (
        httpx.Client(transport=ReplayTransport(cassette)) as client,
        client.stream("GET", "http://server/runs/r1/stream") as response,
    ):
        chunks = response.iter_raw()
        assert next(chunks) == FRAMES[0]
        with pytest.raises(CassetteEndError, match="its client stopped reading"):
            next(chunks)


def test_secrets_are_redacted_before_anything_is_written(tmp_path: Path) -> None:
    """Credential headers, cookies and named query parameters never reach the file."""
    secret = "lsv2_pt_0123456789abcdef0123456789abcdef"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"set-cookie": f"session={secret}"}, json={})

    cassette = Cassette()
    transport = RecordingTransport(cassette, httpx.MockTransport(handler), redact=["X-Tenant"])
    with httpx.Client(transport=transport) as client:
        client.get(
            "http://server/threads?api_key=" + secret,
            headers={
                "x-api-key": secret,
                "Authorization": f"Bearer {secret}",
                "Cookie": f"c={secret}",
                "Proxy-Authorization": secret,
                "x-tenant": secret,
            },
        )
    text = save(cassette, tmp_path / "c.json").read_text()
    assert secret not in text
    request = load(tmp_path / "c.json").interactions[0].request
    assert request.header("x-api-key") == "<redacted>"
    assert request.header("x-tenant") == "<redacted>"
    assert dict(request.query)["api_key"] == "<redacted>"


def test_replay_yields_frame_by_frame_not_one_blob() -> None:
    """Replay hands the client one chunk per recorded frame."""
    cassette = record([b"".join(FRAMES)])
    with (
        httpx.Client(transport=ReplayTransport(cassette), base_url="http://x") as client,
        client.stream("POST", "/threads/t1/runs/stream", json={"input": 1}) as response,
    ):
        assert list(response.iter_raw()) == FRAMES


@pytest.mark.anyio
async def test_async_recording_and_replay_agree() -> None:
    """The async recorder and the async replayer serve the same frames as the sync ones."""
    cassette = Cassette()
    recorder = AsyncRecordingTransport(cassette, sse_server(list(FRAMES)))
    async with (
        httpx.AsyncClient(transport=recorder) as client,
        client.stream("GET", "http://server/runs/r1/stream") as response,
    ):
        live = [chunk async for chunk in response.aiter_raw()]
    async with (
        httpx.AsyncClient(transport=ReplayTransport(cassette)) as client,
        client.stream("GET", "http://server/runs/r1/stream") as response,
    ):
        replayed = [chunk async for chunk in response.aiter_raw()]
    assert live == replayed == FRAMES


@pytest.mark.anyio
async def test_async_replay_lets_other_tasks_run_before_it_answers() -> None:
    """As over the network, a task started just before a replayed request runs before its
    reply arrives (the v3 SDK's projections subscribe in that window)."""
    cassette = record(list(FRAMES))
    order: list[str] = []

    async def subscribe() -> None:
        order.append("other task")

    async with httpx.AsyncClient(transport=ReplayTransport(cassette)) as client:
        task = asyncio.create_task(subscribe())
        await client.post("http://server/threads", json={})
        order.append("reply")
        await task
    assert order == ["other task", "reply"]


@pytest.mark.parametrize(
    ("speed", "expected"), [(1.0, [0.5, 1.0, 0.25]), (2.0, [0.25, 0.5, 0.125])]
)
def test_realtime_and_speed_factor_wait_the_recorded_gaps(replay_clock, speed, expected) -> None:
    """Realtime replay waits the recorded gaps; a speed factor divides them."""
    cassette = record(list(FRAMES))
    stream = cassette.interactions[1].response.stream  # type: ignore[union-attr]
    assert stream is not None
    offsets = [0.5, 1.5, 1.75]
    stream.frames = [f._replace(at=at) for f, at in zip(stream.frames, offsets, strict=True)]
    with (
        httpx.Client(transport=ReplayTransport(cassette, speed=speed), base_url="http://x") as c,
        c.stream("POST", "/threads/t1/runs/stream", json={"input": 1}) as response,
    ):
        assert list(response.iter_raw()) == FRAMES
    assert replay_clock.sleeps == expected


def test_instant_replay_never_sleeps(monkeypatch) -> None:
    """The default timing serves every frame without waiting."""
    cassette = record(list(FRAMES))
    monkeypatch.setattr(replay_module.time, "sleep", lambda s: pytest.fail("slept"))
    with httpx.Client(transport=ReplayTransport(cassette), base_url="http://x") as client:
        response = client.post("/threads/t1/runs/stream", json={"input": 1})
    assert response.content == b"".join(FRAMES)


def test_each_interaction_plays_once_unless_repeats_last() -> None:
    """A second identical request fails by default, and replays the last match with 'last'."""
    cassette = record(list(FRAMES))
    with httpx.Client(transport=ReplayTransport(cassette), base_url="http://x") as client:
        assert client.post("/threads", json={}).json()["thread_id"] == "t1"
        with pytest.raises(UnmatchedRequestError, match="already played"):
            client.post("/threads", json={})
    transport = ReplayTransport(cassette, repeats="last")
    with httpx.Client(transport=transport, base_url="http://x") as client:
        assert client.post("/threads", json={}).status_code == 200
        assert client.post("/threads", json={}).status_code == 200


def test_unmatched_request_error_names_cassette_request_and_closest(tmp_path: Path) -> None:
    """The mismatch error names the file, the request, the closest recordings and the fix."""
    cassette = record(list(FRAMES))
    path = save(cassette, tmp_path / "joke.json")
    transport = ReplayTransport(load(path))
    client = httpx.Client(transport=transport, base_url="http://x")
    with client, pytest.raises(httpx.HTTPError) as info:
        client.post("/threads/t1/runs/stream", json={"input": 2})
    error = info.value
    assert isinstance(error, UnmatchedRequestError)
    assert not isinstance(error, httpx.TransportError)  # the SDK would retry those
    message = str(error)
    assert "no recorded interaction matches POST /threads/t1/runs/stream" in message
    assert str(path) in message
    assert "#1 POST /threads/t1/runs/stream (not played): body input: 1 -> 2" in message
    assert "re-record" in message
    assert transport.unmatched == [error]


def test_match_on_can_ignore_the_body() -> None:
    """Leaving 'body' out of match_on matches requests whatever they send."""
    cassette = record(list(FRAMES))
    transport = ReplayTransport(cassette, match_on=("method", "path"))
    with httpx.Client(transport=transport, base_url="http://x") as client:
        response = client.post("/threads/t1/runs/stream", json={"input": "other"})
    assert response.content == b"".join(FRAMES)


def test_unknown_matcher_is_rejected() -> None:
    """A misspelt matcher name fails at once, listing the known ones."""
    with pytest.raises(ValueError, match="unknown matcher 'bdy'; known matchers: body"):
        ReplayTransport(Cassette(), match_on=("bdy",))


def test_request_that_failed_while_recording_fails_again() -> None:
    """An interaction recorded as a connect error raises the same httpx error on replay."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    cassette = Cassette()
    recording = httpx.Client(transport=RecordingTransport(cassette, httpx.MockTransport(refuse)))
    with recording, pytest.raises(httpx.ConnectError):
        recording.get("http://server/ok")
    replaying = httpx.Client(transport=ReplayTransport(cassette))
    with replaying, pytest.raises(httpx.ConnectError, match="connection refused"):
        replaying.get("http://server/ok")
