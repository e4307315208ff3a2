"""Helpers for driving the pytest plugin through ``pytester``: an inner suite and guards."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

# Imported here, in the outer process, so that in-process inner runs share them: pytester
# drops the modules a run imported, and httpx maps the exceptions of the httpcore it saw first.
import httpcore  # noqa: F401
import langgraph_sdk  # noqa: F401
import pytest

# The same for a server: an inner run that serves (the cassette_server fixture) imports
# uvicorn's protocol, loop and lifespan modules; dropped afterwards, a later uvicorn server in
# this process mixed new and old ones and failed every WebSocket handshake.
import uvicorn.lifespan.on
import uvicorn.loops.auto
import uvicorn.protocols.http.auto
import uvicorn.protocols.websockets.auto  # noqa: F401
import websockets.asyncio.client
import websockets.sync.client  # noqa: F401

# The "code under test" builds its own client with a dead URL: recording must redirect it
# to the live server, replay must not care.
INNER_SUITE = textwrap.dedent(
    """
    import pytest
    from langgraph_sdk import get_client

    JOKE = {"topic": "ice cream"}


    async def tell_joke(url):
        client = get_client(url=url)
        return [
            part
            async for part in client.runs.stream(
                None, "joke", input=JOKE, stream_mode="updates"
            )
        ]


    @pytest.mark.anyio
    @pytest.mark.stream_cassette
    async def test_code_under_test():
        parts = await tell_joke("http://127.0.0.1:9")
        assert parts[-1].data == {
            "generate_joke": {"joke": "This is a joke about ice cream and cats"}
        }


    def test_sync_client(langgraph_sync_client):
        thread = langgraph_sync_client.threads.create()
        parts = list(
            langgraph_sync_client.runs.stream(
                thread["thread_id"], "joke", input=JOKE, stream_mode="updates"
            )
        )
        assert [part.event for part in parts] == ["metadata", "updates", "updates"]
    """
)
INNER_CASSETTES = ("test_code_under_test[asyncio].json", "test_sync_client.json")

# The hypothesis and langsmith plugins only slow the inner runs down.
INNER_INI = textwrap.dedent(
    """
    [pytest]
    filterwarnings = error
    addopts = -p no:hypothesispytest -p no:langsmith_plugin
    """
)

# Makes every outgoing connection of the inner run fail, and undoes that afterwards.
NETWORK_GUARD = textwrap.dedent(
    """
    import socket

    _real_connect = socket.socket.connect
    _real_connect_ex = socket.socket.connect_ex


    def _blocked(self, address):
        raise OSError(f"network access during an offline run: {address!r}")


    def pytest_configure(config):
        socket.socket.connect = _blocked
        socket.socket.connect_ex = _blocked


    def pytest_unconfigure(config):
        socket.socket.connect = _real_connect
        socket.socket.connect_ex = _real_connect_ex
    """
)


def write_ini(pytester: pytest.Pytester) -> None:
    """The inner run's pytest.ini (warnings are errors; slow unrelated plugins off)."""
    pytester.makefile(".ini", pytest=INNER_INI)


def write_suite(pytester: pytest.Pytester, *, guard: bool = False) -> Path:
    """The inner suite as ``test_jokes.py`` in the pytester folder; returns the module path."""
    write_ini(pytester)
    if guard:
        pytester.makeconftest(NETWORK_GUARD)
    return pytester.makepyfile(test_jokes=INNER_SUITE)


def cassette_dir(root: Path, module: str = "test_jokes") -> Path:
    return root / "cassettes" / module


def copy_cassettes(recorded_suite: Path, pytester: pytest.Pytester) -> Path:
    """Copy the recorded cassettes next to the pytester suite; returns their folder."""
    target = cassette_dir(pytester.path)
    shutil.copytree(cassette_dir(recorded_suite), target)
    return target


def record_inner_suite(root: Path, module: str, text: str, url: str) -> Path:
    """Write an inner suite (its pytest.ini and ``<module>.py``) into ``root`` and record its
    cassettes from ``url`` with ``--record-streams`` in a fresh interpreter; returns root."""
    (root / "pytest.ini").write_text(INNER_INI)
    (root / f"{module}.py").write_text(text)
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"),
            *("--record-streams", "--langgraph-url", url),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return root
