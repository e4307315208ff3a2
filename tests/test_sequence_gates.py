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
    times = threads.seq_ordered_times([main, watcher])
    assert times[0] == [0.1, 0.6, 0.7]
    assert times[1][0] == 0.1
    assert times[1][1] > times[0][1]  # seq 3 after seq 2
