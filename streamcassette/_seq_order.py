"""Session times that keep events of several streams in key order (v3 thread streams: ``seq``).

Live, each stream is its own connection: a lifecycle watcher's "completed" may reach the
client before the main stream's last events. Replayed by recorded time, the client would
see the run end before its last events. So each frame's time on the session clock is
raised where needed: a frame goes after every frame of a lower key on another stream that
arrived there live (a stream opened after an event happened gets it as history, which holds
nothing back). A frame without a key keeps its place in its own stream. Times never go
below the recorded ones and never decrease within a stream.

A replay must not read every frame to find its key (a regex over each frame of a long main
stream costs more than the client spends reading it). A stream's keys rise (langgraph-api
numbers a connection's events as it sends them), so the streams merge in runs: while one
stream's coming keys are all below the others' next key, its frames go as recorded, only
raised to after what the others have had; the run's end is found by a galloping search that
reads a few frames' keys. A main stream of thousands of events beside a watcher of two
costs a few dozen reads. Keys that turn out not to rise where they are read, and streams
given with all their keys that do not rise (a WebSocket carrying several subscriptions),
are ordered by the general method (:func:`_by_floors`), which reads every key.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Sequence

__all__ = ["STEP", "KeyedStream", "ordered_times"]

# Between two frames of different streams that must go in order, the later one's session
# time is at least this much later, so the order is strict.
STEP = 1e-6


class _NotRising(Exception):
    """A stream's keys went down where the merge read them."""


# The level of frames before a stream's first key (keys are never negative).
_BEFORE_KEYS = -1


class KeyedStream:
    """One stream for the merge: when it started, its frames' recorded session times, and
    each frame's key (an ``int`` >= 0, or None for a frame without one), read as asked for.

    ``keys``, when given, are all the keys (then nothing is read from the frames).
    """

    def __init__(
        self,
        started: float,
        times: Sequence[float],
        key_at: Callable[[int], int | None],
        *,
        keys: Sequence[int | None] | None = None,
    ) -> None:
        self.started = started
        self.times = times
        self.count = len(times)
        self._key_at = key_at
        self._keys: dict[int, int | None] = {}
        self._levels: dict[int, int] = {}
        self.all_keys = keys

    def key(self, index: int) -> int | None:
        if self.all_keys is not None:
            return self.all_keys[index]
        keys = self._keys
        if index in keys:
            return keys[index]
        key = keys[index] = self._key_at(index)
        return key

    def keys(self) -> list[int | None]:
        """Every frame's key (reads every frame not read yet)."""
        if self.all_keys is not None:
            return list(self.all_keys)
        return [self.key(index) for index in range(self.count)]

    def rises(self) -> bool | None:
        """Whether the keys rise: known when all are given, else None (assumed, checked where
        read)."""
        if self.all_keys is None:
            return None
        levels = [key for key in self.all_keys if key is not None]
        return all(a <= b for a, b in itertools.pairwise(levels))

    def level(self, index: int) -> int:
        """The key of the frame at ``index``, or of the last frame before it that has one;
        ``_BEFORE_KEYS`` before the first."""
        levels = self._levels
        level = levels.get(index)
        if level is not None:
            return level
        walked = []
        at = index
        while True:
            if at < 0:
                level = _BEFORE_KEYS
                break
            known = levels.get(at)
            if known is not None:
                level = known
                break
            key = self.key(at)
            walked.append(at)
            if key is not None:
                level = key
                break
            at -= 1
        for at in walked:
            levels[at] = level
        return level

    def first_from(self, bound: int, start: int) -> int:
        """The first index from ``start`` whose level is at least ``bound`` (``count`` if
        none): a galloping search, then a bisection, each read checked against rising."""
        below, below_level = start - 1, -math.inf  # the last index known below ``bound``
        step = 1
        probe = start
        while probe < self.count:
            level = self.level(probe)
            if level < below_level:
                raise _NotRising
            if level >= bound:
                break
            below, below_level = probe, level
            probe = start + step
            step *= 2
        above = min(probe, self.count)  # an index at or past ``bound`` (or the end)
        above_level = self.level(above) if above < self.count else math.inf
        while above - below > 1:
            middle = (below + above) // 2
            level = self.level(middle)
            if not below_level <= level <= above_level:
                raise _NotRising
            if level >= bound:
                above, above_level = middle, level
            else:
                below, below_level = middle, level
        return above


def ordered_times(streams: Sequence[KeyedStream]) -> list[list[float]]:
    """Each stream's frame times on the session clock, in key order across the streams (the
    streams of one v3 thread)."""
    recorded = [_never_decreasing(stream.times) for stream in streams]
    if len(streams) < 2:
        return recorded
    if all(stream.rises() is not False for stream in streams):
        try:
            return _by_runs(streams, [list(times) for times in recorded])
        except _NotRising:
            pass
    return _by_floors(streams, recorded)


def _never_decreasing(times: Sequence[float]) -> list[float]:
    """``times`` as a list (the same list if it is one and in order)."""
    if not isinstance(times, list):
        times = list(times)
    if times != sorted(times):  # not as recorded (an edited cassette): hold the stream's order
        times = list(itertools.accumulate(times, max))
    return times


def _by_runs(streams: Sequence[KeyedStream], out: list[list[float]]) -> list[list[float]]:
    """The merge of rising streams in runs (see the module docstring); ``out`` holds the
    recorded times and is raised in place."""
    count = len(streams)
    position = [0] * count
    last = [-math.inf] * count  # the time of the last frame taken, per stream
    last_live = [-math.inf] * count  # of the last keyed frame taken that arrived live
    taken_level = [_BEFORE_KEYS] * count  # the level of the last frame taken

    def take(index: int, end: int, after: float, live: bool) -> None:
        """Take frames ``position .. end`` of stream ``index``, each at least STEP after
        ``after`` (the others' frames they must follow)."""
        times, start = out[index], position[index]
        floor = max(after + STEP, last[index])
        if times[start] < floor:
            raised = bisect.bisect_left(times, floor, start, end)
            times[start:raised] = [floor] * (raised - start)
        last[index] = times[end - 1]
        stream = streams[index]
        if live:
            keyed = end - 1
            while keyed >= start and stream.key(keyed) is None:
                keyed -= 1
            if keyed >= start:
                last_live[index] = times[keyed]
        taken_level[index] = stream.level(end - 1)
        position[index] = end

    def others_live(index: int) -> float:
        return max(
            (last_live[other] for other in range(count) if other != index), default=-math.inf
        )

    while True:
        coming: dict[int, int] = {}
        for index, stream in enumerate(streams):
            if position[index] < stream.count:
                level = stream.level(position[index])
                if level < taken_level[index]:
                    raise _NotRising
                coming[index] = level
        if not coming:
            return out
        lowest = min(coming.values())
        group = [index for index, level in coming.items() if level == lowest]
        if len(group) == 1:
            # One stream is below the others: its frames up to the others' next key go as
            # a run; no other stream has their keys, so each arrived live where it is.
            (index,) = group
            next_level = min(
                (level for other, level in coming.items() if other != index), default=None
            )
            stream = streams[index]
            end = (
                stream.count
                if next_level is None
                else stream.first_from(next_level, position[index])
            )
            take(index, end, others_live(index), live=True)
        else:
            # The same event on several streams: each copy follows what the others had
            # before it (not each other), and counts later only where it arrived live.
            ends = {
                index: streams[index].first_from(lowest + 1, position[index]) for index in group
            }
            after = {index: others_live(index) for index in group}
            happened = min(out[index][position[index]] for index in group)
            for index in group:
                live = lowest != _BEFORE_KEYS and streams[index].started <= happened
                take(index, ends[index], after[index], live)


def _by_floors(streams: Sequence[KeyedStream], recorded: list[list[float]]) -> list[list[float]]:
    """The general method: every key read; each key's earliest time (its floor) comes after
    every lower key's live arrivals, by a STEP."""
    keyed = [
        (stream.started, times, stream.keys())
        for stream, times in zip(streams, recorded, strict=True)
    ]
    # When each key first happened (its first arrival on any stream).
    happened: dict[int, float] = {}
    for _, times, keys in keyed:
        for key, at in zip(keys, times, strict=True):
            if key is not None and at < happened.get(key, math.inf):
                happened[key] = at
    # When each key last arrived live: on a stream open when it happened.
    arrived = dict(happened)
    for started, times, keys in keyed:
        for key, at in zip(keys, times, strict=True):
            if key is not None and happened[key] >= started and at > arrived[key]:
                arrived[key] = at
    # The earliest time each key may go: after every lower key has arrived, by a step.
    floors: dict[int, float] = {}
    running = -math.inf
    for key in sorted(arrived):
        floors[key] = max(running + STEP, happened[key])
        running = max(running, arrived[key], floors[key])
    ordered: list[list[float]] = []
    for _, times, keys in keyed:
        adjusted: list[float] = []
        previous = -math.inf
        for key, at in zip(keys, times, strict=True):
            if key is not None:
                at = max(at, floors[key])
            previous = at if at > previous else previous
            adjusted.append(previous)
        ordered.append(adjusted)
    return ordered
