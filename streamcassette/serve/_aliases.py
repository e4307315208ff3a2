"""Ids a front end mints, bound to the recorded ones per live thread, for ``serve``.

A chat page mints a fresh message id per submit, and may choose its thread's id; the
recording has other ids at those places. Serve aligns each request with the recorded one it
could be (:class:`~streamcassette._bind.IdBindings`, the rule the replay transport uses), picks
among those that agree, keeps the new bindings, and serves the recorded bytes with the live ids
in place of their recorded counterparts, so the page reconciles its optimistic messages.

Bindings are kept per live thread: each thread the page works on is one session of ids, so a
second page (or a second demo) on a fresh thread may mint its own ids again. Requests on no
thread share one session.
"""

from __future__ import annotations

import threading

from .._bind import IdBindings, RequestIds
from .._cassette import Body, RecordedRequest

__all__ = ["Alignment", "ThreadBindings", "align", "live_request"]

# Request headers whose ids matter to what is answered (a join's Last-Event-ID); the rest
# (referer, origin, user agent) describe the browser, not the world it asks about.
_MATCHED_HEADERS = frozenset({"last-event-id"})

Alignment = tuple[RecordedRequest, dict[str, str]]


def live_request(
    method: str,
    path: str,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    content: bytes,
) -> RecordedRequest:
    """A request as serve received it, in the shape recorded requests have."""
    return RecordedRequest(
        method=method,
        path=path,
        query=query,
        headers=[(key, value) for key, value in headers if key.lower() in _MATCHED_HEADERS],
        body=Body(content) if content else None,
    )


class ThreadBindings:
    """One :class:`IdBindings` per live thread id; a request on no thread (a stateless run)
    binds only for its own answer, so every stateless run may mint its ids afresh."""

    def __init__(self) -> None:
        self._scopes: dict[str, IdBindings] = {}
        self._lock = threading.Lock()

    def session(self, thread_id: str | None) -> IdBindings:
        if thread_id is None:
            return IdBindings()
        with self._lock:
            found = self._scopes.get(thread_id)
            if found is None:
                found = self._scopes[thread_id] = IdBindings()
            return found

    def bind(self, thread_id: str, recorded_thread_id: str) -> None:
        """A thread the page created (or named) stands for a recorded thread."""
        self.session(thread_id).commit({thread_id: recorded_thread_id})


def align(
    bindings: IdBindings, live: RecordedRequest, recorded: RecordedRequest
) -> Alignment | None:
    """``live`` in ``recorded``'s ids, with the new bindings that takes; ``None`` when an id is
    already bound elsewhere (another thread, another message)."""
    new, conflicts = bindings.propose(RequestIds(live), RequestIds(recorded))
    if conflicts:
        return None
    return bindings.translate(live, new), new
