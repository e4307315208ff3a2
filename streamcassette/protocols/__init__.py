"""What each LangGraph streaming protocol means on the wire, one module per protocol.

* :mod:`.runs`: runs streams (``POST /threads/{id}/runs/stream``, ``/runs/stream``, joins):
  SSE frames named after stream modes (``event: updates``), run ids in ``metadata``.
* :mod:`.threads`: the v3 thread protocol (``client.threads.stream()``): JSON commands on
  ``POST /threads/{id}/commands``, events on ``POST|WS /threads/{id}/stream/events``, each
  carrying a ``seq`` shared by every stream of the thread.

Play, serve, the proxy, masking and the diff ask these modules, so a protocol's endpoints,
event names, id shapes, run boundaries and rendering are written down once.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._cassette import Cassette
from . import runs, threads

__all__ = ["default_modes", "protocol_of", "runs", "threads"]


def protocol_of(method: str, path: str) -> str | None:
    """``"threads"`` or ``"runs"`` for a request of that protocol's streams or commands,
    else None (plain API requests)."""
    if threads.is_protocol_request(method, path):
        return "threads"
    if runs.is_run_request(method, path):
        return "runs"
    return None


def default_modes(cassettes: Iterable[Cassette]) -> tuple[str, ...]:
    """What a diff compares when no modes are configured: the v3 thread protocol's channels
    (``threads.DIFF_MODES``) when a cassette holds a thread session, else ``updates``."""
    for cassette in cassettes:
        for interaction in cassette.interactions:
            request = interaction.request
            if threads.is_protocol_request(request.method, request.path):
                return threads.DIFF_MODES
    return runs.DIFF_MODES
