"""Session times in key order across streams (``_seq_order``): the merge in runs that reads only
a few keys of a long stream, its edges (ties, frames without a key, history), and the fall
back to reading every key when keys do not rise."""

from __future__ import annotations

import itertools
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from streamcassette._seq_order import STEP, KeyedStream, _by_floors, ordered_times


def stream(
    started: float, frames: list[tuple[float, int | None]], *, lazy: bool = True
) -> KeyedStream:
    """A stream of ``(recorded session time, key)`` frames; keys read one by one if ``lazy``."""
    keys = [key for _, key in frames]
    times = [at for at, _ in frames]
    if lazy:
        return KeyedStream(started, times, keys.__getitem__)
    return KeyedStream(started, times, keys.__getitem__, keys=keys)


def assert_merged(streams: list[KeyedStream], merged: list[list[float]]) -> None:
    """Times never below the recorded ones, never decreasing within a stream, and a frame after
    every lower-keyed frame of another stream that arrived there live."""
    happened: dict[int, float] = {}
    for one in streams:
        for at, key in zip(one.times, one.keys(), strict=True):
            if key is not None:
                happened[key] = min(happened.get(key, math.inf), at)
    for one, times in zip(streams, merged, strict=True):
        assert len(times) == one.count
        assert all(a <= b for a, b in itertools.pairwise(times))
        assert all(
            t >= at for t, at in zip(times, itertools.accumulate(one.times, max), strict=True)
        )
    for (s, one), (o, other) in itertools.permutations(enumerate(streams), 2):
        for x, key_x in zip(merged[s], one.keys(), strict=True):
            for y, key_y in zip(merged[o], other.keys(), strict=True):
                if key_x is None or key_y is None or key_y >= key_x:
                    continue
                if other.started <= happened[key_y]:  # it arrived there live
                    assert x > y, (s, key_x, x, o, key_y, y)


Spec = list[tuple[float, list[tuple[float, int | None]]]]


@st.composite
def rising_streams(draw: st.DrawFn) -> Spec:
    """Two to four streams of one thread: each a start and frames whose keys rise (a random
    subset of one run's events, some frames without a key), at times that never decrease."""
    events = draw(st.integers(1, 12))
    streams: Spec = []
    for _ in range(draw(st.integers(2, 4))):
        keys: list[int | None] = sorted(
            draw(st.lists(st.integers(1, events), min_size=1, max_size=8))
        )
        for _ in range(draw(st.integers(0, 2))):
            keys.insert(draw(st.integers(0, len(keys))), None)
        # Few distinct times, so equal times across and within streams are common.
        instants = st.sampled_from([0.0, 0.1, 0.2, 0.25, 0.5, 0.7, 1.0])
        times = sorted(draw(st.lists(instants, min_size=len(keys), max_size=len(keys))))
        started = draw(st.sampled_from([0.0, 0.1, 0.2, 0.5]))
        frames = [(max(at, started), key) for at, key in zip(times, keys, strict=True)]
        streams.append((started, frames))
    return streams


def _built(spec: Spec, *, lazy: bool) -> list[KeyedStream]:
    return [stream(started, frames, lazy=lazy) for started, frames in spec]


@settings(max_examples=300, deadline=None)
@given(rising_streams(), st.booleans())
def test_rising_streams_merge_in_key_order(spec: Spec, lazy: bool) -> None:
    """Whatever the keys, ties, keyless frames and starts, every frame comes after each
    lower-keyed frame that arrived live on another stream, and no time goes down."""
    streams = _built(spec, lazy=lazy)
    assert_merged(streams, ordered_times(streams))


@settings(max_examples=100, deadline=None)
@given(rising_streams())
def test_the_general_method_keeps_the_same_order(spec: Spec) -> None:
    """The method that reads every key (used when keys do not rise) keeps the same order on
    rising streams: the two agree on what must come after what."""
    streams = _built(spec, lazy=False)
    assert_merged(streams, _by_floors(streams, [list(one.times) for one in streams]))


def test_a_watcher_beside_a_long_main_stream_reads_few_keys() -> None:
    """Ordering a 10,000-event main stream beside a two-event watcher reads a few dozen of
    its keys, not every frame, and puts the watcher's "completed" after the main stream's
    second-to-last event."""
    count = 10_000
    reads: list[int] = []

    def main_key(index: int) -> int:
        reads.append(index)
        return index + 1

    main_times = [0.001 + index * 1e-5 for index in range(count)]
    main = KeyedStream(0.001, main_times, main_key)
    watcher = stream(0.01, [(0.0101, 1), (0.0102, count)])  # "completed" arrived early
    main_out, watcher_out = ordered_times([main, watcher])
    assert len(set(reads)) < 64
    assert main_out == main_times  # the main stream goes as recorded
    assert watcher_out[0] == 0.0101  # history: it holds nothing back
    assert watcher_out[1] == main_times[count - 2] + STEP


def test_frames_before_the_first_key_and_between_keys_keep_their_places() -> None:
    """Frames without a key (heartbeats) follow their neighbours and hold nothing back."""
    main = stream(0.0, [(0.1, None), (0.2, 1), (0.3, None), (0.4, 2), (0.5, 3)])
    watcher = stream(0.0, [(0.1, 1), (0.15, 3)])
    main_out, watcher_out = ordered_times([main, watcher])
    assert main_out == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert watcher_out == [0.1, 0.4 + STEP]


def test_keys_given_that_do_not_rise_are_ordered_by_the_general_method() -> None:
    """A WebSocket's keys that go down (a subscription replays older events) are merged by
    reading every key, as before."""
    socket = stream(0.0, [(0.1, 5), (0.2, 1), (0.3, 2), (0.4, 6)], lazy=False)
    watcher = stream(0.0, [(0.05, 4), (0.35, 6)], lazy=False)
    expected = _by_floors([socket, watcher], [list(socket.times), list(watcher.times)])
    assert ordered_times([socket, watcher]) == expected


def test_keys_found_going_down_where_read_fall_back_to_every_key() -> None:
    """Keys read one by one that turn out not to rise make the merge read them all instead
    of trusting the search."""
    keys = [1, 2, 3, 9, 4, 5, 6, 7, 8, 10]
    main = stream(0.0, [(0.1 * (index + 1), key) for index, key in enumerate(keys)])
    watcher = stream(0.0, [(0.05, 1), (0.15, 10)])
    expected = _by_floors(
        [stream(0.0, list(zip(main.times, keys, strict=True)), lazy=False), watcher],
        [list(main.times), list(watcher.times)],
    )
    assert ordered_times([main, watcher]) == expected


def test_one_stream_keeps_its_recorded_times() -> None:
    """A thread with one stream has nothing to merge: its times are the recorded ones, in
    order even if the cassette's were not."""
    only = stream(0.0, [(0.2, 1), (0.1, 2), (0.3, 3)])
    assert ordered_times([only]) == [[0.2, 0.2, 0.3]]
