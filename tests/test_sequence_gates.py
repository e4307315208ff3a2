"""Gates on the session clock: frames recorded after a v3 command wait until replay has
played it, and stop waiting for good once a command never came."""

from __future__ import annotations

import threading

import pytest

from streamcassette import _sequence
from streamcassette._sequence import StreamSequencer


def test_a_frame_after_a_gate_waits_until_the_gate_is_passed() -> None:
    """A reader blocked on a frame recorded after a command goes on once it is played."""
    sequencer = StreamSequencer()
    sequencer.gates[3] = 1.0
    cursor = sequencer.cursor(2.0)
    released = threading.Event()

    def read() -> None:
        cursor.start_reading()
        cursor.wait_sync(2.0)
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
    cursor = sequencer.cursor(2.0)
    cursor.wait_sync(2.0)
    assert sequencer.gates == {7: 5.0}  # only the gate before the frame is given up
    assert not cursor._blocked(2.5, cursor.reader)
