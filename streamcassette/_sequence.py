"""One session clock for replay: streams open at once keep their recorded order across streams.

A client may read several responses of one session at once (v3 thread streams open a main
event stream and a lifecycle watcher; UIs open several subscriptions). Each stream alone
replays in order, but nothing would stop a stream from running ahead of another: a watcher's
"run completed" could reach the client before the main stream's first event.

Every recorded frame has a time on the session clock (its interaction's ``started`` plus the
frame's offset). Before a stream releases a frame, it waits while another open stream that is
being read *by another task or thread* (the one that opened it, until another reads it) still
holds an earlier frame. A stream read by the same task or thread never waits for the other (that
client reads one after the other, and waiting would deadlock it), nor for one whose reader is
gone.
Frames recorded after a gated request (a v3 command) also wait until replay has played it.
A wait never exceeds ``MAX_HOLD`` seconds: a reader that stalls cannot hang the session.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from typing import Any

__all__ = ["MAX_HOLD", "StreamCursor", "StreamSequencer"]

MAX_HOLD = 5.0


def _current_reader() -> Any:
    """The task reading (asyncio), else the thread."""
    try:
        task = asyncio.current_task()
    except RuntimeError:
        task = None
    return task if task is not None else threading.current_thread()


def _alive(reader: Any) -> bool:
    if isinstance(reader, asyncio.Task):
        return not reader.done()
    if isinstance(reader, threading.Thread):
        return reader.is_alive()
    return False


class StreamCursor:
    """One open replayed stream's place on the session clock."""

    __slots__ = ("next_at", "reader", "sequencer")

    def __init__(self, sequencer: StreamSequencer, next_at: float) -> None:
        self.sequencer = sequencer
        self.next_at = next_at  # session time of the frame it holds next; inf when done
        # Who reads it: the task or thread that opened it, until another starts reading.
        self.reader: Any = _current_reader()

    def _blocked(self, at: float, reader: Any) -> bool:
        gates = self.sequencer.gates
        if gates and min(gates.values()) < at:
            return True
        for other in self.sequencer.open:
            if (
                other is not self
                and other.next_at < at
                and other.reader is not None
                and other.reader is not reader
                and _alive(other.reader)
            ):
                return True
        return False

    def start_reading(self) -> None:
        """The current task or thread reads this stream from now on."""
        self.reader = _current_reader()

    def wait_sync(self, at: float) -> None:
        """Block until no other read stream holds a frame recorded before ``at``."""
        sequencer = self.sequencer
        reader = self.reader
        sequencer.notify()  # this stream's next_at moved
        sequencer.sync_readers = True
        deadline = time.monotonic() + MAX_HOLD
        with sequencer.changed:
            while self._blocked(at, reader):
                left = deadline - time.monotonic()
                if left <= 0:
                    sequencer.abandon_gates(at)
                    return
                sequencer.changed.wait(left)

    async def wait_async(self, at: float) -> None:
        """The async twin of :meth:`wait_sync` (asyncio; other loops are not ordered)."""
        sequencer = self.sequencer
        reader = self.reader
        sequencer.notify()  # this stream's next_at moved
        if not isinstance(reader, asyncio.Task):
            return
        deadline = time.monotonic() + MAX_HOLD
        while self._blocked(at, reader):
            left = deadline - time.monotonic()
            if left <= 0:
                sequencer.abandon_gates(at)
                return
            event = sequencer.async_event()
            try:
                await asyncio.wait_for(event.wait(), left)
            except asyncio.TimeoutError:
                sequencer.abandon_gates(at)
                return

    def close(self) -> None:
        self.next_at = math.inf
        sequencer = self.sequencer
        if self in sequencer.open:
            sequencer.open.remove(self)
        sequencer.notify()


class StreamSequencer:
    """The open streams of one replay session, ordered by the session clock."""

    def __init__(self) -> None:
        self.open: list[StreamCursor] = []
        # Recorded requests that frames recorded after them wait for (v3 commands: the
        # events of a resumed run come after its ``input.respond``), by interaction index:
        # their time on the session clock. Passed when replay plays the request.
        self.gates: dict[int, float] = {}
        self.changed = threading.Condition()
        # Whether a thread ever waited here: then every change is notified under the lock
        # (a waiter checks and waits under it); sessions read only by tasks skip the lock.
        self.sync_readers = False
        self._events: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}

    def cursor(self, first_at: float) -> StreamCursor:
        cursor = StreamCursor(self, first_at)
        self.open.append(cursor)
        return cursor

    @property
    def ordering(self) -> bool:
        """Whether frames must wait for their turn: several streams open, or a gate."""
        return len(self.open) > 1 or bool(self.gates)

    def abandon_gates(self, at: float) -> None:
        """A stream waited ``MAX_HOLD`` for requests recorded before ``at`` that never came
        (the client is not the recording's): no frame waits for them again."""
        for index, gate_at in list(self.gates.items()):
            if gate_at < at:
                self.gates.pop(index, None)

    def passed(self, index: int) -> None:
        """The recorded request ``index`` was replayed: frames after it may go."""
        if self.gates.pop(index, None) is not None:
            self.notify()

    def async_event(self) -> asyncio.Event:
        loop = asyncio.get_running_loop()
        event = self._events.get(loop)
        if event is None or event.is_set():
            event = self._events[loop] = asyncio.Event()
        return event

    def notify(self) -> None:
        if not self._events and not self.sync_readers:
            return  # nobody waits: called once per frame, it must cost nothing then
        if self.sync_readers:
            with self.changed:
                self.changed.notify_all()
        events, self._events = self._events, {}
        for loop, event in events.items():
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                event.set()
            elif not loop.is_closed():
                loop.call_soon_threadsafe(event.set)
