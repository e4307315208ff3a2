"""The recorder splits a stream into frames when the frames are first read, not per chunk:
whenever they are read (mid-stream, after the end, at save, never), they are what feeding each
chunk to the SSE decoder as it arrived gives, with the times of the chunks that completed them.
"""

from __future__ import annotations

import copy
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from streamcassette import Cassette, RecordedStream, RecordingTransport, StreamEnd, load, save
from streamcassette._sse import FrameDecoder

SSE = {"content-type": "text/event-stream"}
FRAMES = [b"event: a\r\ndata: 1\r\n\r\n", b"event: b\r\ndata: 2\r\n\r\n", b"data: 3\n\n"]

# Pieces that exercise every line ending, blank lines, a BOM and a stream cut mid-line.
PIECES = st.sampled_from(
    [b"data: x", b"event: y", b":c", b"\r", b"\n", b"\r\n", b"\xef\xbb\xbf", b"id: 1", b"\xe2"]
)


class Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


def open_stream(chunks: list[bytes]) -> tuple[Cassette, httpx.Client, httpx.Response]:
    cassette = Cassette()
    server = httpx.MockTransport(lambda _: httpx.Response(200, headers=SSE, stream=Chunks(chunks)))
    client = httpx.Client(transport=RecordingTransport(cassette, server))
    response = client.send(client.build_request("GET", "http://server/stream"), stream=True)
    return cassette, client, response


def recorded_stream(cassette: Cassette) -> RecordedStream:
    response = cassette.interactions[0].response
    assert response is not None
    assert response.stream is not None
    return response.stream


def decoded(chunks: list[bytes]) -> tuple[list[tuple[int, bytes]], bytes]:
    """(index of the chunk that completed it, frame) for each frame, and the tail, from a
    decoder fed chunk by chunk (``len(chunks)`` for frames only the end completed)."""
    decoder = FrameDecoder()
    frames = [(index, raw) for index, chunk in enumerate(chunks) for raw in decoder.feed(chunk)]
    rest, tail = decoder.flush()
    return frames + [(len(chunks), raw) for raw in rest], tail


@settings(max_examples=300, deadline=None)
@given(
    chunks=st.lists(st.lists(PIECES, min_size=1, max_size=6).map(b"".join), max_size=12),
    reads=st.sets(st.integers(0, 12)),
)
def test_frames_read_at_any_point_are_those_of_a_chunk_by_chunk_decoder(
    chunks: list[bytes], reads: set[int]
) -> None:
    """Frames read mid-stream (after chunk k) and at the end match a decoder fed chunk by
    chunk; frames one chunk completed share its time, and times never go back."""
    cassette, client, response = open_stream(chunks)
    expected, tail = decoded(chunks)
    with closing(client), closing(response):
        for index, _chunk in enumerate(response.iter_raw()):
            if index in reads:
                so_far = [raw for at, raw in expected if at <= index]
                assert [frame.raw for frame in recorded_stream(cassette).frames] == so_far
    stream = recorded_stream(cassette)
    assert stream.end is StreamEnd.CLOSED
    assert [frame.raw for frame in stream.frames] == [raw for _, raw in expected]
    assert stream.tail == tail
    assert stream.raw == b"".join(chunks)
    times = [frame.at for frame in stream.frames]
    assert times == sorted(times)
    for (chunk_a, _), (chunk_b, _), at_a, at_b in zip(
        expected, expected[1:], times, times[1:], strict=False
    ):
        if chunk_a == chunk_b:
            assert at_a == at_b


def test_a_stream_never_closed_is_split_when_the_cassette_is_saved(tmp_path: Path) -> None:
    """A stream the client left open mid-way is saved with the frames that had arrived."""
    cassette, client, response = open_stream(list(FRAMES))
    chunks = response.iter_raw()
    assert next(chunks) == FRAMES[0]
    assert next(chunks) == FRAMES[1]
    path = save(cassette, tmp_path / "open.json")  # the stream is still open
    saved = recorded_stream(load(path))
    assert [frame.raw for frame in saved.frames] == FRAMES[:2]
    assert saved.tail == b""
    response.close()
    client.close()


def test_a_finished_recording_is_split_on_first_read_and_copies_as_a_list() -> None:
    """A stream that ended on a frame boundary waits to be split until read; a deep copy
    taken before holds a plain list of the same frames, and so does the stream once read."""
    cassette, client, response = open_stream(list(FRAMES))
    with closing(client), closing(response):
        response.read()
    stream = recorded_stream(cassette)
    assert not isinstance(stream.frames, list)  # not split yet: nothing has read it
    copied = recorded_stream(copy.deepcopy(cassette))
    assert isinstance(copied.frames, list)
    assert [frame.raw for frame in copied.frames] == FRAMES
    assert [frame.raw for frame in stream.frames] == FRAMES
    assert isinstance(stream.frames, list)  # the first read settled it for good
    assert stream.frames == copied.frames


def test_a_stream_cut_mid_frame_knows_its_tail_when_it_ends() -> None:
    """The unterminated rest of a stream is its tail as soon as the stream ends."""
    cassette, client, response = open_stream([*FRAMES, b"data: cut"])
    with closing(client), closing(response):
        response.read()
    stream = recorded_stream(cassette)
    assert stream.tail == b"data: cut"
    assert [frame.raw for frame in stream.frames] == FRAMES


def test_frames_read_by_other_threads_while_streaming_are_a_prefix_then_all() -> None:
    """Two threads reading the frames while a third streams see a prefix of them each time
    (no frame lost, doubled or reordered by splitting at once), then all."""
    frames = [b"event: n\r\ndata: %d\r\n\r\n" % index for index in range(3000)]
    data = b"".join(frames)
    chunks = [data[start : start + 37] for start in range(0, len(data), 37)]
    cassette, client, response = open_stream(chunks)
    done = threading.Event()
    seen: list[int] = []
    failures: list[str] = []

    def read_while_streaming() -> None:
        while not done.is_set():
            raws = [frame.raw for frame in recorded_stream(cassette).frames]
            if raws != frames[: len(raws)]:
                failures.append(f"not a prefix after {len(raws)} frames")
                return
            seen.append(len(raws))

    readers = [threading.Thread(target=read_while_streaming) for _ in range(2)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, mid-split too
    try:
        for reader in readers:
            reader.start()
        with closing(client), closing(response):
            for _chunk in response.iter_raw():
                pass
        done.set()
        for reader in readers:
            reader.join()
    finally:
        sys.setswitchinterval(interval)
    assert failures == []
    assert len(seen) > 2
    assert [frame.raw for frame in recorded_stream(cassette).frames] == frames
