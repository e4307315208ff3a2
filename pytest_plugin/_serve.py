"""``cassette_server``: a folder of cassettes served as a LangGraph API server, for front-end
tests (Playwright, puppeteer, Cypress) that point a page at a URL.

The server is ``streamcassette serve`` in a background thread (``BackgroundServer`` around
``replay_app``), one per test so every test starts from the same world. Override
``cassette_server_source`` to pick the folder (default: the test's ``stream_cassette_dir``)
and ``cassette_server_speed`` for the pace (``1.0`` as recorded, ``None`` at once).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["cassette_server", "cassette_server_source", "cassette_server_speed"]


@pytest.fixture
def cassette_server_source(stream_cassette_dir: Path) -> Path:
    """The cassette file or folder ``cassette_server`` serves; override to choose another."""
    return stream_cassette_dir


@pytest.fixture
def cassette_server_speed() -> float | None:
    """How fast ``cassette_server`` plays frames: 1.0 keeps the recorded gaps, None: at once."""
    return 1.0


@pytest.fixture
def cassette_server(
    cassette_server_source: Path | str, cassette_server_speed: float | None
) -> Iterator[str]:
    """The URL of ``streamcassette serve`` on ``cassette_server_source``, for this test."""
    from streamcassette.serve import LibraryError, MissingExtraError, require_extra

    try:
        require_extra()
        from streamcassette.serve import BackgroundServer, replay_app

        app = replay_app(cassette_server_source, speed=cassette_server_speed)
    except (MissingExtraError, LibraryError, ValueError) as error:
        pytest.fail(f"cassette_server: {error}", pytrace=False)
    with BackgroundServer(app) as server:
        yield server.url
