"""The session clock for v3 streams: frames recorded after a command wait until replay has
played it (and stop waiting for good once a command never came); events go in seq order
across a thread's streams."""

from __future__ import annotations

import threading

import pytest

from streamcassette import _sequence
from streamcassette._cassette import (
    Interaction,
    RecordedFrame,
    RecordedRequest,
    RecordedResponse,
    RecordedStream,
    StreamEnd,
)
from streamcassette._sequence import StreamSequencer
from streamcassette.protocols import threads


def test_a_frame_after_a_gate_waits_until_the_gate_is_passed() -> None:
    """A reader blocked on a frame recorded after a command goes on once it is played."""
    sequencer = StreamSequencer()
    sequencer.gates[3] = 1.0
    cursor = sequencer.cursor(lambda: [2.0], 1)
    released = threading.Event()

    def read() -> None:
        cursor.start_reading()
        cursor.wait_sync()
        released.set()

    reader = threading.Thread(target=read)
    reader.start()
    assert not released.wait(0.2)  # held by the gate
    sequencer.passed(3)
    assert released.wait(2.0)
    reader.join()
    assert not sequencer.ordering


def test_a_gate_that_never_opens_is_abandoned_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """After one wait of ``MAX_HOLD`` for a command that never came, later frames do not
    wait for it again."""
    monkeypatch.setattr(_sequence, "MAX_HOLD", 0.05)
    sequencer = StreamSequencer()
    sequencer.gates[3] = 1.0
    sequencer.gates[7] = 5.0
    cursor = sequencer.cursor(lambda: [2.0], 1)
    cursor.wait_sync()
    assert sequencer.gates == {7: 5.0}  # only the gate before the frame is given up
    assert not cursor._blocked(2.5, cursor.reader)


def _v3_stream(started: float, events: list[tuple[float, int]]) -> Interaction:
    frames = [
        RecordedFrame(at, f'event: x\r\ndata: {{"type":"event","seq":{seq}}}\r\n\r\n'.encode())
        for at, seq in events
    ]
    return Interaction(
        RecordedRequest("POST", "/threads/t1/stream/events"),
        RecordedResponse(200, stream=RecordedStream(frames, end=StreamEnd.CLIENT_STOPPED)),
        started=started,
    )


def test_an_event_never_goes_before_a_lower_seq_on_another_stream() -> None:
    """A watcher's "completed" (seq 3) that arrived live before the main stream's seq 2 is
    timed after it in replay; each stream's own times stay in order."""
    main = _v3_stream(0.0, [(0.1, 1), (0.6, 2), (0.7, 3)])
    watcher = _v3_stream(0.0, [(0.1, 1), (0.5, 3)])
    times = threads.event_order([main, watcher]).times
    assert times[0] == [0.1, 0.6, 0.7]
    assert times[1][0] == 0.1
    assert times[1][1] > times[0][1]  # seq 3 after seq 2


def _command(started: float) -> Interaction:
    return Interaction(
        RecordedRequest("POST", "/threads/t1/commands"),
        RecordedResponse(200),
        started=started,
    )


def test_a_command_s_floor_is_the_highest_seq_its_client_had_on_any_stream() -> None:
    """The watcher had seq 3 (the interrupt) when the answer went at 0.55; the main stream
    got seq 1-3 only later: the answer's floor is 3, a command before any event gets -1."""
    main = _v3_stream(0.0, [(0.8, 1), (0.8, 2), (0.8, 3), (1.5, 4)])
    watcher = _v3_stream(0.0, [(0.4, 1), (0.5, 3), (1.4, 4)])
    order = threads.event_order([_command(0.0), main, watcher, _command(0.55)])
    assert order.floors == {0: -1, 3: 3}
    assert [order.keys[1](index) for index in range(4)] == [1, 2, 3, 4]


def test_a_gate_holds_only_frames_above_its_floor() -> None:
    """Frames recorded after a command but up to its floor (events that happened before it)
    go, and so does a frame without a key (a reply, a heartbeat); the first frame above the
    floor waits until replay has played the command, although the frames before it never
    looked at the gate's time."""
    sequencer = StreamSequencer()
    sequencer.gates[5] = 1.0
    sequencer.gate_floors[5] = 3
    keys = [1, None, 2, 3, 4]
    cursor = sequencer.cursor(lambda: [0.5, 1.1, 1.2, 1.3, 2.0], len(keys), keys.__getitem__)
    released: list[int] = []
    done = threading.Event()

    def read() -> None:
        cursor.start_reading()
        for position in range(len(keys)):
            cursor.position = position
            if position >= cursor.check_at:
                cursor.wait_sync()
            released.append(position)
        done.set()

    reader = threading.Thread(target=read)
    reader.start()
    deadline = 2.0
    while len(released) < 4 and deadline > 0:
        done.wait(0.05)
        deadline -= 0.05
    assert released == [0, 1, 2, 3]  # held at seq 4, above the floor
    assert not done.wait(0.2)
    sequencer.passed(5)
    assert done.wait(2.0)
    reader.join()
    assert released == [0, 1, 2, 3, 4]
