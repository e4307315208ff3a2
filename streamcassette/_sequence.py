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
Frames recorded after a gated request (a v3 command) also wait until replay has played it,
unless they carry an event its client had already had on another stream when it sent the
request (a gate's *floor*: the highest key it had; a frame with a key up to it goes).
A wait never exceeds ``MAX_HOLD`` seconds: a reader that stalls cannot hang the session.

Looking at the clock before every frame would cost replay more than the client spends
reading the frame, so a stream looks only where it has to: at a frame whose gap since its
previous frame (both ends included) holds a time of another open stream's coming frames or
of a gate (its *checks*, planned from the times). Anywhere else nothing can hold the frame
back: when the stream last looked, every stream read by another reader was at or past that
time or was waited for, and streams only move forward; the stream just notes its position,
which is where the others read it. The plan is made again when a stream opens or another
task or thread starts reading one (the sequencer's ``epoch`` moves and every open stream
looks at its next frame): those are the only events that bring in a new stream to wait for.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import math
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["MAX_HOLD", "StreamCursor", "StreamSequencer"]

MAX_HOLD = 5.0

NEVER = sys.maxsize  # a frame index no stream reaches: no check planned


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
    """One open replayed stream's place on the session clock.

    The stream's reader sets ``position`` to the index of each frame it asks for, and calls
    :meth:`wait_sync` or :meth:`wait_async` when ``position`` reaches ``check_at``.
    """

    __slots__ = (
        "_plan",
        "_planned",
        "_source",
        "_times",
        "check_at",
        "key_at",
        "length",
        "position",
        "reader",
        "sequencer",
    )

    def __init__(
        self,
        sequencer: StreamSequencer,
        times: Callable[[], Sequence[float]],
        length: int,
        key_at: Callable[[int], int | None] | None = None,
    ) -> None:
        self.sequencer = sequencer
        self.key_at = key_at  # a frame's key (v3: its seq), for the gates' floors
        self.length = length  # frames in the stream
        self.position = 0  # the frame it holds next (or has just released); length when done
        self.check_at = 0  # the next frame that must look at the clock
        # Who reads it: the task or thread that opened it, until another starts reading.
        self.reader: Any = _current_reader()
        self._source = times  # each frame's session time, built when first needed
        self._times: Sequence[float] | None = None
        self._plan: list[int] = []  # frames that must look, after the one that planned
        self._planned = -1  # the sequencer's epoch the plan was made in

    @property
    def times(self) -> Sequence[float]:
        """Each frame's time on the session clock, never decreasing."""
        times = self._times
        if times is None:
            times = self._source()
            if times != sorted(times):  # a hand-edited cassette: keep the stream's own order
                times = list(itertools.accumulate(times, max))
            self._times = times
        return times

    @property
    def next_at(self) -> float:
        """The session time of the frame it holds next; inf when it has no more."""
        position = self.position
        return self.times[position] if position < self.length else math.inf

    def _blocked(self, at: float, reader: Any) -> bool:
        gates = self.sequencer.gates
        if gates and min(gates.values()) < at and self._gated(at):
            return True
        for other in self.sequencer.open:
            if (
                other is not self
                and other.position < other.length
                and other.reader is not None
                and other.reader is not reader
                and other.next_at < at
                and _alive(other.reader)
            ):
                return True
        return False

    def _gated(self, at: float) -> bool:
        """Whether a gate recorded before ``at`` holds the frame at ``position``: one without
        a floor (not a v3 command, or not a v3 stream), or one whose request its client sent
        before it had this frame's event (the frame's key is above the floor). A frame of a
        v3 stream without a key is no event a command caused (a subscription's reply, a
        heartbeat): such gates do not hold it."""
        floors = self.sequencer.gate_floors
        key: int | None = None
        read = False
        for index, gate_at in list(self.sequencer.gates.items()):
            if gate_at >= at:
                continue
            floor = floors.get(index)
            if floor is None or self.key_at is None:
                return True
            if not read:
                key, read = self.key_at(self.position), True
            if key is not None and key > floor:
                return True
        return False

    def _after_floor(self, at: float | None) -> None:
        """After a frame a gate recorded before it let through (its key is up to the gate's
        floor), the next frame must look too: the plan marks only frames right after a gate's
        time, and a later one's key may be above the floor."""
        gates = self.sequencer.gates
        if at is not None and gates and min(gates.values()) < at:
            self.check_at = min(self.check_at, self.position + 1)

    def _looks(self) -> float | None:
        """The time of the frame at ``position`` if anything could hold it back: another open
        stream or a gate. None when nothing can (then no time is built)."""
        sequencer = self.sequencer
        if len(sequencer.open) < 2 and not sequencer.gates:
            return None
        return self.times[self.position] if self.position < self.length else None

    def _plan_next(self) -> None:
        """Set ``check_at`` to the next frame that must look, planning again if a stream
        opened or changed readers since the last plan."""
        sequencer = self.sequencer
        while True:
            epoch = sequencer.epoch
            if self._planned != epoch:
                self._plan = self._make_plan()
                self._planned = epoch
            plan, position = self._plan, self.position
            found = bisect.bisect_right(plan, position)
            self.check_at = plan[found] if found < len(plan) else NEVER
            # A stream that opened while this one planned bumped the epoch, then asked this
            # one to look (check_at = 0): read again, so that request is not overwritten.
            if sequencer.epoch == epoch:
                return

    def _make_plan(self) -> list[int]:
        """The frames after ``position`` whose gap since the previous frame holds the time of
        another open stream's coming frame or of a gate, in order."""
        sequencer = self.sequencer
        others = [other for other in list(sequencer.open) if other is not self]
        gates = sorted(sequencer.gates.values())
        if not others and not gates:
            return []
        times, start = self.times, self.position
        marks: set[int] = set()
        if gates:
            _mark_gaps(times, start, gates, 0, marks)
        for other in others:
            if other.position < other.length:
                _mark_gaps(times, start, other.times, other.position, marks)
        return sorted(marks)

    def start_reading(self) -> None:
        """The current task or thread reads this stream from now on."""
        reader = _current_reader()
        if reader is not self.reader:
            self.reader = reader
            self.sequencer.replan()  # a stream others did not wait for may now hold them

    def wait_sync(self) -> None:
        """Block until no other read stream holds a frame recorded before the frame at
        ``position``; then plan the next check."""
        sequencer = self.sequencer
        reader = self.reader
        sequencer.notify()  # this stream's position moved
        at = self._looks()
        if at is not None:
            sequencer.sync_readers = True
            deadline = time.monotonic() + MAX_HOLD
            with sequencer.changed:
                while self._blocked(at, reader):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        sequencer.abandon_gates(at)
                        break
                    sequencer.changed.wait(left)
        self._plan_next()
        self._after_floor(at)

    async def wait_async(self) -> None:
        """The async twin of :meth:`wait_sync` (asyncio; other loops are not ordered)."""
        sequencer = self.sequencer
        reader = self.reader
        sequencer.notify()  # this stream's position moved
        at = self._looks()
        if at is not None and isinstance(reader, asyncio.Task):
            deadline = time.monotonic() + MAX_HOLD
            while self._blocked(at, reader):
                left = deadline - time.monotonic()
                if left <= 0:
                    sequencer.abandon_gates(at)
                    break
                event = sequencer.async_event()
                try:
                    await asyncio.wait_for(event.wait(), left)
                except asyncio.TimeoutError:
                    sequencer.abandon_gates(at)
                    break
        self._plan_next()
        self._after_floor(at)

    def close(self) -> None:
        self.position = self.length
        self.check_at = NEVER
        sequencer = self.sequencer
        if self in sequencer.open:
            sequencer.open.remove(self)
        sequencer.notify()


def _mark_gaps(
    times: Sequence[float], start: int, points: Sequence[float], first: int, marks: set[int]
) -> None:
    """Add to ``marks`` each frame ``i > start`` with a point in ``times[i - 1] .. times[i]``
    (both sorted; ``points`` from index ``first``). Points before ``times[start]`` are left
    out: the frame at ``start`` looked at them already.

    Goes over whichever side is shorter, so a watcher's few frames against a main stream's
    thousands cost a few bisections either way.
    """
    count = len(times)
    if count - start < 2 or len(points) <= first:
        return
    if len(points) - first <= count - start:
        floor = times[start]
        for point in itertools.islice(points, first, None):
            if point < floor:
                continue
            lo = bisect.bisect_left(times, point, start + 1)
            if lo >= count:
                break  # this point and the later ones come after the last frame
            hi = bisect.bisect_right(times, point, lo)
            marks.update(range(lo, min(hi, count - 1) + 1))
    else:
        for index in range(start + 1, count):
            found = bisect.bisect_left(points, times[index - 1], first)
            if found < len(points) and points[found] <= times[index]:
                marks.add(index)


class StreamSequencer:
    """The open streams of one replay session, ordered by the session clock."""

    def __init__(self) -> None:
        self.open: list[StreamCursor] = []
        # Recorded requests that frames recorded after them wait for (v3 commands: the
        # events of a resumed run come after its ``input.respond``), by interaction index:
        # their time on the session clock. Passed when replay plays the request.
        self.gates: dict[int, float] = {}
        # A gate's floor: the highest key (v3: seq) its client had received when it sent the
        # request; frames with a key up to it happened before it and do not wait for it.
        self.gate_floors: dict[int, int] = {}
        # Moves when a stream opens or changes readers: open streams plan their checks again.
        # Each value is new (``next`` on a count is atomic), so a plan made in the latest
        # epoch saw every stream opened before it, even with threads opening streams at once.
        self._epochs = itertools.count(1)
        self.epoch = 0
        self.changed = threading.Condition()
        # Whether a thread ever waited here: then every change is notified under the lock
        # (a waiter checks and waits under it); sessions read only by tasks skip the lock.
        self.sync_readers = False
        self._events: dict[asyncio.AbstractEventLoop, asyncio.Event] = {}

    def cursor(
        self,
        times: Callable[[], Sequence[float]],
        length: int,
        key_at: Callable[[int], int | None] | None = None,
    ) -> StreamCursor:
        """A new open stream of ``length`` frames; ``times`` gives their session times
        (called once, when another stream or a gate first makes them matter), ``key_at`` a
        frame's key when a gate has a floor (read only for frames a gate could hold)."""
        cursor = StreamCursor(self, times, length, key_at)
        self.open.append(cursor)
        self.replan()
        return cursor

    def replan(self) -> None:
        """Every open stream looks at the clock at its next frame and plans again."""
        self.epoch = next(self._epochs)
        for cursor in list(self.open):
            cursor.check_at = 0

    @property
    def ordering(self) -> bool:
        """Whether frames may have to wait for their turn: several streams open, or a gate."""
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
            return  # nobody waits: it must cost nothing then
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
