"""A stand-in clock for replay pacing tests (the ``replay_clock`` fixture patches it in)."""

from __future__ import annotations


class FakeClock:
    """Stands in for replay's perf_counter and sleep, so pacing is checked without waiting."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def perf_counter(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds
