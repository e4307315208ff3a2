"""One session clock: streams open at once replay in their recorded order across streams."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from loopback import loopback_server

from streamcassette import (
    Cassette,
    Interaction,
    RecordedFrame,
    RecordedRequest,
    RecordedResponse,
    RecordedStream,
    ReplayTransport,
    use_cassette,
)

SSE = [("content-type", "text/event-stream")]


def cassette_of(timelines: list[tuple[float, list[float]]]) -> Cassette:
    """One stream per timeline: (its start on the session clock, its frames' offsets)."""
    interactions = []
    for index, (started, offsets) in enumerate(timelines):
        frames = [
            RecordedFrame(at, f"data: {index}-{k}\n\n".encode())
            for k, at in enumerate(sorted(offsets))
        ]
        interactions.append(
            Interaction(
                request=RecordedRequest("GET", f"/s/{index}"),
                response=RecordedResponse(200, SSE, stream=RecordedStream(frames=frames)),
                started=started,
            )
        )
    return Cassette(interactions)


def session_time(cassette: Cassette, label: str) -> float:
    stream_index, frame_index = map(int, label.split("-"))
    interaction = cassette.interactions[stream_index]
    assert interaction.started is not None
    assert interaction.response is not None
    assert interaction.response.stream is not None
    return interaction.started + interaction.response.stream.frames[frame_index].at


def assert_cross_stream_order(cassette: Cassette, delivered: list[str]) -> None:
    """No frame reached the client before an earlier-recorded frame of another stream."""
    times = [session_time(cassette, label) for label in delivered]
    for later in range(len(delivered)):
        for earlier in range(later):
            if delivered[earlier].split("-")[0] != delivered[later].split("-")[0]:
                assert times[earlier] <= times[later], (delivered, times)


timelines = st.lists(
    st.tuples(
        st.floats(0, 1, allow_nan=False),
        st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=5),
    ),
    min_size=2,
    max_size=3,
)


@settings(max_examples=60, deadline=None)
@given(timelines=timelines, pauses=st.lists(st.integers(0, 3), min_size=16, max_size=16))
def test_concurrent_async_readers_see_the_recorded_order(
    timelines: list[tuple[float, list[float]]], pauses: list[int]
) -> None:
    """Tasks reading several open streams, at their own pace, get frames in session order."""
    cassette = cassette_of(timelines)
    delivered: list[str] = []

    async def main() -> None:
        transport = ReplayTransport(cassette)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            opened = anyio.Event()
            responses: list[httpx.Response] = []

            async def read(index: int) -> None:
                async with client.stream("GET", f"/s/{index}") as response:
                    responses.append(response)
                    if len(responses) == len(timelines):
                        opened.set()
                    await opened.wait()
                    step = 0
                    async for chunk in response.aiter_raw():
                        delivered.append(chunk.decode().removeprefix("data: ").strip())
                        for _ in range(pauses[(index + step) % len(pauses)]):
                            await anyio.sleep(0)
                        step += 1

            async with anyio.create_task_group() as group:
                for index in range(len(timelines)):
                    group.start_soon(read, index)

    anyio.run(main)
    assert sorted(delivered) == sorted(
        f"{i}-{k}" for i, (_, offsets) in enumerate(timelines) for k in range(len(offsets))
    )
    assert_cross_stream_order(cassette, delivered)


def test_threads_reading_two_streams_keep_the_order() -> None:
    """Two threads reading two open streams of a sync client interleave as recorded."""
    cassette = cassette_of([(0.0, [0.1, 0.3, 0.5]), (0.0, [0.2, 0.4])])
    delivered: list[str] = []
    lock = threading.Lock()
    with httpx.Client(transport=ReplayTransport(cassette), base_url="http://x") as client:
        responses = [
            client.send(client.build_request("GET", f"/s/{i}"), stream=True) for i in (0, 1)
        ]

        def read(response: httpx.Response) -> None:
            for chunk in response.iter_raw():
                with lock:
                    delivered.append(chunk.decode().removeprefix("data: ").strip())
            response.close()

        # The stream recorded second is read first, so order must come from the clock.
        threads = [threading.Thread(target=read, args=(responses[i],)) for i in (1, 0)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
    assert delivered == ["0-0", "1-0", "0-1", "1-1", "0-2"]


def test_one_reader_of_two_streams_is_never_held_back() -> None:
    """A client reading one stream after the other (one thread) is not deadlocked."""
    cassette = cassette_of([(0.0, [0.5]), (0.0, [0.1])])
    with httpx.Client(transport=ReplayTransport(cassette), base_url="http://x") as client:
        first = client.send(client.build_request("GET", "/s/0"), stream=True)
        second = client.send(client.build_request("GET", "/s/1"), stream=True)
        assert first.read() == b"data: 0-0\n\n"
        assert second.read() == b"data: 1-0\n\n"
        first.close()
        second.close()


def test_cassettes_without_session_times_replay_streams_independently() -> None:
    """Old cassettes (no ``started``) keep each stream's own order only."""
    cassette = cassette_of([(0.0, [0.5]), (0.0, [0.1])])
    for interaction in cassette.interactions:
        interaction.started = None
    with httpx.Client(transport=ReplayTransport(cassette), base_url="http://x") as client:
        assert client.get("/s/0").content == b"data: 0-0\n\n"
        assert client.get("/s/1").content == b"data: 1-0\n\n"


@pytest.mark.anyio
async def test_the_recorder_stamps_every_interaction_on_one_clock(tmp_path: Path) -> None:
    """Recording through one session, ``started`` grows with the order requests were sent."""
    with loopback_server() as server:
        path = tmp_path / "c.json"
        with use_cassette(path, mode="record", urls=[server.url]) as session:
            async with httpx.AsyncClient(base_url=server.url) as client:
                await client.get("/a")
                await anyio.sleep(0.05)
                await client.get("/b")
    first, second = session.cassette.interactions
    assert first.started is not None
    assert second.started is not None
    assert 0 <= first.started < 0.05 <= second.started
