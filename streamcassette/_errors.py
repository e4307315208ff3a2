"""Exceptions. Transport-level errors subclass httpx's, so callers' ``except`` still works."""

from __future__ import annotations

from pathlib import Path

import httpx

__all__ = [
    "BlockedNetworkError",
    "BlockedRequestError",
    "CassetteFormatError",
    "CassetteNotFoundError",
    "EmptyRecordingWarning",
    "StreamCassetteError",
    "StreamCassetteWarning",
    "UnmatchedRequestError",
    "UnmatchedWebSocketError",
    "UnplayedInteractionsError",
    "UnsupportedVersionError",
]


class StreamCassetteError(Exception):
    """Base class for streamcassette's own (non-httpx) errors."""


class CassetteFormatError(StreamCassetteError, ValueError):
    """A cassette file that cannot be read: names the file and what is wrong with it."""

    def __init__(
        self,
        path: Path | str | None,
        problem: str,
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.path = path
        self.problem = problem
        self.line = line
        self.column = column
        where = str(path) if path is not None else "<cassette>"
        if line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        super().__init__(f"{where}: {problem}")


class UnsupportedVersionError(CassetteFormatError):
    """A cassette written by a format version this release cannot read."""


class CassetteNotFoundError(StreamCassetteError, FileNotFoundError):
    """A cassette to replay does not exist."""

    def __init__(self, path: Path | str, hint: str = "") -> None:
        self.path = path
        message = f"{path}: no such cassette"
        if hint:
            message += f"; {hint}"
        super().__init__(message)


class UnmatchedRequestError(httpx.RequestError):
    """A replayed request that no recorded interaction answers.

    Subclasses ``httpx.RequestError`` so callers can catch it as an httpx error, but not
    ``httpx.TransportError``: the SDK retries transport errors as reconnects, which would
    bury the mismatch under retries and sleeps.
    """


class UnmatchedWebSocketError(StreamCassetteError):
    """A replayed WebSocket connection that no recorded connection answers: names the
    cassette, the path, the first message and how the closest recordings differ."""


class BlockedRequestError(httpx.RequestError):
    """A request to a host other than the LangGraph server, attempted during replay.

    Like :class:`UnmatchedRequestError`, not an ``httpx.TransportError``: the SDK would
    retry it as a reconnect.
    """


class BlockedNetworkError(StreamCassetteError, RuntimeError):
    """A network connection (any library) attempted during replay to a host not allowed."""


class UnplayedInteractionsError(StreamCassetteError, AssertionError):
    """``require_all_played``: a replay session ended with recorded interactions unasked."""


class StreamCassetteWarning(UserWarning):
    """Base class for streamcassette's warnings."""


class EmptyRecordingWarning(StreamCassetteWarning):
    """A recording session saved no interaction: nothing reached the LangGraph server."""
