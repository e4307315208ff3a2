"""Cassettes over HTTP: a replay server and a recording proxy for any LangGraph client.

``replay_app`` serves recorded runs to the JS SDK, curl or a front end as a LangGraph API
server would; ``proxy_app`` sits in front of a real server and records one cassette per
run. Both are ASGI apps (starlette); ``BackgroundServer`` runs either under uvicorn in a
thread. They need the ``serve`` extra: ``pip install 'streamcassette[serve]'``. The index of
recordings (``Library``) needs nothing extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._library import Library, LibraryError, RecordedRun, RunKey

if TYPE_CHECKING:
    from ._app import CASSETTE_HEADER, RECORDING_HEADER, ReplayServer, replay_app
    from ._proxy import RecordingProxy, proxy_app
    from ._server import BackgroundServer

__all__ = [
    "CASSETTE_HEADER",
    "EXTRA_HINT",
    "RECORDING_HEADER",
    "BackgroundServer",
    "Library",
    "LibraryError",
    "MissingExtraError",
    "RecordedRun",
    "RecordingProxy",
    "ReplayServer",
    "RunKey",
    "proxy_app",
    "replay_app",
    "require_extra",
]

EXTRA_HINT = "pip install 'streamcassette[serve]'"

# Public name -> the private module that defines it (imported on first use: these need
# starlette and uvicorn, which the core package does not depend on).
_LAZY = {
    "CASSETTE_HEADER": "_app",
    "RECORDING_HEADER": "_app",
    "ReplayServer": "_app",
    "replay_app": "_app",
    "RecordingProxy": "_proxy",
    "proxy_app": "_proxy",
    "BackgroundServer": "_server",
}


class MissingExtraError(ImportError):
    """The web dependencies of ``streamcassette serve`` / ``proxy`` are not installed."""


def require_extra() -> None:
    """Raise :class:`MissingExtraError`, saying what to install, unless the web deps import."""
    missing = []
    for module in ("starlette", "uvicorn"):
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(module)
    if missing:
        msg = (
            f"the replay server and the recording proxy need {' and '.join(missing)}, "
            f"which are not installed; {EXTRA_HINT}"
        )
        raise MissingExtraError(msg, name=missing[0])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    require_extra()
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
