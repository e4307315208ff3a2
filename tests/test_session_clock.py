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
    _sequence,
    use_cassette,
)
from streamcassette._replay import _ReplayStream
from streamcassette._sequence import NEVER, StreamSequencer, _mark_gaps

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


# -- where a stream looks at the clock (``_sequence``'s plan) ------------------------------


@settings(max_examples=200, deadline=None)
@given(
    times=st.lists(st.sampled_from([0.0, 0.1, 0.2, 0.3, 0.5, 0.8]), max_size=8).map(sorted),
    points=st.lists(st.sampled_from([0.0, 0.1, 0.15, 0.2, 0.5, 0.9]), max_size=8).map(sorted),
    start=st.integers(0, 7),
    first=st.integers(0, 7),
)
def test_planned_checks_are_the_frames_whose_gap_holds_a_point(
    times: list[float], points: list[float], start: int, first: int
) -> None:
    """A frame after ``start`` is checked exactly when another stream's coming frame or a gate
    falls in the gap since its previous frame, ends included (equal times included)."""
    marks: set[int] = set()
    _mark_gaps(times, start, points, first, marks)
    expected = {
        index
        for index in range(start + 1, len(times))
        if any(times[index - 1] <= point <= times[index] for point in points[first:])
    }
    assert marks == expected


@settings(max_examples=80, deadline=None)
@given(
    timelines=timelines,
    opens=st.lists(st.integers(0, 6), min_size=3, max_size=3),
    pauses=st.lists(st.integers(0, 3), min_size=16, max_size=16),
    own_opener=st.booleans(),
)
def test_a_frame_goes_only_when_no_other_reader_holds_an_earlier_one(
    timelines: list[tuple[float, list[float]]],
    opens: list[int],
    pauses: list[int],
    own_opener: bool,
) -> None:
    """Streams opened at different moments (by their readers, or all by one task and read by
    others), read at their own pace: whenever a frame reaches its reader, no stream read by
    another live task still holds an earlier frame. Looking at the clock only at planned
    frames skips no wait that looking at every frame would make."""
    cassette = cassette_of(timelines)
    late: list[tuple[int, float]] = []
    delivered: list[str] = []

    async def main() -> None:
        transport = ReplayTransport(cassette)

        async def open_stream(index: int) -> httpx.Response:
            request = httpx.Request("GET", f"http://x/s/{index}")
            return await transport.handle_async_request(request)

        async def read(index: int, response: httpx.Response) -> None:
            stream = response.stream
            assert isinstance(stream, _ReplayStream)
            cursor = stream._cursor
            assert cursor is not None
            step = 0
            async for chunk in stream:
                at = cursor.times[cursor.position]
                if cursor._blocked(at, cursor.reader):
                    late.append((index, at))
                delivered.append(chunk.decode())
                for _ in range(pauses[(index + step) % len(pauses)]):
                    await anyio.sleep(0)
                step += 1

        async def open_and_read(index: int) -> None:
            for _ in range(opens[index]):
                await anyio.sleep(0)
            await read(index, await open_stream(index))

        async with anyio.create_task_group() as group:
            if own_opener:
                for index in range(len(timelines)):
                    group.start_soon(open_and_read, index)
            else:
                responses = [await open_stream(index) for index in range(len(timelines))]
                for index, response in enumerate(responses):
                    group.start_soon(read, index, response)

    hold, _sequence.MAX_HOLD = _sequence.MAX_HOLD, 2.0  # a missed wake-up fails, not hangs
    try:
        anyio.run(main)
    finally:
        _sequence.MAX_HOLD = hold
    assert late == []
    assert len(delivered) == sum(len(offsets) for _, offsets in timelines)


def test_a_stream_opened_late_holds_back_one_already_running() -> None:
    """A stream that opens while another is being read makes that one look at the clock at
    its next frame: it waits for the new stream's earlier frames, then they interleave."""
    cassette = cassette_of([(0.0, [0.1 * k for k in range(1, 11)]), (0.0, [0.35, 0.95])])
    delivered: list[str] = []

    async def main() -> None:
        transport = ReplayTransport(cassette)
        first_three, opened = anyio.Event(), anyio.Event()

        async def read(response: httpx.Response, after_three: bool) -> None:
            async for chunk in response.stream:  # type: ignore[union-attr]
                delivered.append(chunk.decode().removeprefix("data: ").strip())
                if after_three and len(delivered) == 3:
                    first_three.set()
                    await opened.wait()

        async def late() -> None:
            await first_three.wait()
            response = await transport.handle_async_request(httpx.Request("GET", "http://x/s/1"))
            opened.set()
            await read(response, after_three=False)

        main_stream = await transport.handle_async_request(httpx.Request("GET", "http://x/s/0"))
        async with anyio.create_task_group() as group:
            group.start_soon(read, main_stream, True)
            group.start_soon(late)

    anyio.run(main)
    main_frames = [f"0-{k}" for k in range(10)]
    assert delivered == [*main_frames[:3], "1-0", *main_frames[3:9], "1-1", main_frames[9]]


def test_a_stream_alone_never_builds_its_frame_times() -> None:
    """With no other stream and no gate, a stream looks once, at its first frame, and never
    builds its session times; a second stream opening makes it look at its next frame."""
    sequencer = StreamSequencer()
    built: list[int] = []

    def times() -> list[float]:
        built.append(1)
        return [0.1, 0.2, 0.3]

    cursor = sequencer.cursor(times, 3)
    assert cursor.check_at == 0
    cursor.wait_sync()
    assert cursor.check_at == NEVER
    assert built == []
    sequencer.cursor(lambda: [0.25], 1)
    assert cursor.check_at == 0  # the next frame looks, and plans with the new stream
    cursor.position = 1
    cursor.wait_sync()
    assert built == [1]
    assert cursor.check_at == 2  # 0.25 falls between its frames at 0.2 and 0.3


def test_a_stream_another_thread_starts_reading_is_waited_for_from_the_next_frame() -> None:
    """A stream its opener read beside another (no waiting between them) is handed to another
    thread: the other stream looks at the clock at its next frame and waits for it there."""
    sequencer = StreamSequencer()
    main = sequencer.cursor(lambda: [0.1 * k for k in range(1, 11)], 10)
    main.wait_sync()
    main.position = 4
    watcher = sequencer.cursor(lambda: [0.15, 0.95], 2)  # opened by the same thread
    assert main.check_at == 0
    main.wait_sync()  # the opener reads both: no waiting for its own watcher
    assert main.check_at == 9  # only the watcher's 0.95 falls between main's frames
    handed, done = threading.Event(), threading.Event()

    def read_watcher() -> None:
        watcher.start_reading()
        handed.set()
        done.wait(10)

    reader = threading.Thread(target=read_watcher)
    reader.start()
    try:
        assert handed.wait(10)
        assert main.check_at == 0  # main's next frame looks again
        main.position = 5
        assert main._blocked(main.times[5], main.reader)  # and waits for the watcher's 0.15
    finally:
        done.set()
        reader.join()
