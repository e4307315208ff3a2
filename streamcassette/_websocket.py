"""WebSocket connections recorded and replayed: the v3 thread protocol's ``stream/events``.

The LangGraph SDK opens its v3 event streams with the ``websockets`` library, not httpx,
through one seam: ``ProtocolWebSocketTransport(connect=...)`` (sync:
``SyncProtocolWebSocketTransport``), whose default is ``websockets``' own ``connect``.
``websocket_seam`` swaps that default while a cassette is active, for a connect that
records through the real one (``_ws_record``) or one that answers from the cassette
(``_ws_replay``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ._cassette import RecordedWebSocket, StreamEnd
from ._ws_record import WEBSOCKET_METHOD, WebSocketRecorder
from ._ws_replay import WebSocketReplayer

if TYPE_CHECKING:
    from ._sdk import CassetteSession

__all__ = [
    "WEBSOCKET_METHOD",
    "WebSocketRecorder",
    "WebSocketReplayer",
    "how_it_closed",
    "session_websockets",
    "websocket_seam",
]


def _sdk_transports() -> list[tuple[type[Any], bool]]:
    """The SDK's WebSocket transport classes and whether each is async; none for an SDK
    without the v3 thread protocol."""
    found: list[tuple[type[Any], bool]] = []
    with contextlib.suppress(ImportError):
        from langgraph_sdk.stream.transport.ws import ProtocolWebSocketTransport

        found.append((ProtocolWebSocketTransport, True))
    with contextlib.suppress(ImportError):
        from langgraph_sdk.stream.transport.sync_ws import SyncProtocolWebSocketTransport

        found.append((SyncProtocolWebSocketTransport, False))
    return found


@contextlib.contextmanager
def websocket_seam(
    *,
    recorder: WebSocketRecorder | None = None,
    replayer: WebSocketReplayer | None = None,
) -> Iterator[None]:
    """Inside the block, the SDK's WebSocket transports built without a ``connect`` of
    their own record through ``recorder`` or answer from ``replayer``.

    It swaps the ``connect`` default of ``ProtocolWebSocketTransport.__init__`` (and the
    sync one), which ``AsyncThreadStream`` relies on, and restores it on exit.
    """
    patched: list[tuple[dict[str, Any], Any]] = []
    try:
        for cls, is_async in _sdk_transports():
            defaults = cls.__init__.__kwdefaults__
            if defaults is None or "connect" not in defaults:
                continue
            real = defaults["connect"]
            if replayer is not None:
                connect = replayer.async_connect if is_async else replayer.sync_connect
            elif recorder is not None:
                connect = recorder.async_connect(real) if is_async else recorder.sync_connect(real)
            else:
                continue
            patched.append((defaults, real))
            defaults["connect"] = connect
        yield
    finally:
        for defaults, real in reversed(patched):
            defaults["connect"] = real


def session_websockets(session: CassetteSession) -> contextlib.AbstractContextManager[None]:
    """``websocket_seam`` for a cassette session: its WebSocket connections are recorded
    into its cassette on its clock, or replayed from it by its replay transport."""
    if session.replayer is not None:
        return websocket_seam(replayer=WebSocketReplayer(session.replayer))
    redirect = str(session.redirect_to) if session.redirect_to is not None else None
    recorder = WebSocketRecorder(
        session.cassette, redact=session.redactor, clock=session.clock, redirect_to=redirect
    )
    return websocket_seam(recorder=recorder)


def how_it_closed(websocket: RecordedWebSocket) -> str:
    """``closed by the client (1000)``, ``closed by the server (1011)`` or ``dropped``."""
    how = {
        StreamEnd.CLIENT_STOPPED: "closed by the client",
        StreamEnd.CLOSED: "closed by the server",
        StreamEnd.DROPPED: "dropped",
    }[websocket.end]
    return how + (f" ({websocket.close_code})" if websocket.close_code is not None else "")
