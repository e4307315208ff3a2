"""Session fixtures of the browser tests: the bundled pages, their server, one Chromium."""

from collections.abc import Iterator

import pytest
from browser import Browser, PageServer, bundle


@pytest.fixture(scope="session")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageServer]:
    """The chat pages, bundled once per session and served on a free loopback port."""
    root = bundle(tmp_path_factory.mktemp("ui-pages"))
    with PageServer(root) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session (each page gets a fresh profile)."""
    chromium = Browser()
    try:
        yield chromium
    finally:
        chromium.close()
