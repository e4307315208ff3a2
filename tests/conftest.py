"""Shared fixtures: one real ``langgraph dev`` server per test session (per xdist worker), and
one JavaScript LangGraph server for the tests that need it (``tests/js_graphs``)."""

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_clock import FakeClock

from streamcassette.devserver import LangGraphDevServer

GRAPHS_CONFIG = Path(__file__).parent / "graphs" / "langgraph.json"
# LangGraph.js graphs; scripts/setup.sh installs their server (`npm ci` of tests/js_graphs).
JS_GRAPHS_CONFIG = Path(__file__).parent / "js_graphs" / "langgraph.json"


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def langgraph_server() -> Iterator[LangGraphDevServer]:
    # Several jobs, so a run parked on a gate or an interrupt does not hold up the others.
    with LangGraphDevServer(GRAPHS_CONFIG, n_jobs_per_worker=8) as server:
        yield server


@pytest.fixture(scope="session")
def langgraph_js_server() -> Iterator[LangGraphDevServer]:
    """The JavaScript server (`@langchain/langgraph-cli dev`), stopped by process group."""
    with LangGraphDevServer(JS_GRAPHS_CONFIG, server="js") as server:
        yield server


@pytest.fixture(scope="session")
def langgraph_js_url(langgraph_js_server: LangGraphDevServer) -> str:
    return langgraph_js_server.url


@pytest.fixture(scope="session")
def langgraph_url(langgraph_server: LangGraphDevServer) -> str:
    return langgraph_server.url


@pytest.fixture
def replay_clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The sync replay transport's clock, faked: ``.sleeps`` lists the waits it asked for."""
    clock = FakeClock()
    monkeypatch.setattr("streamcassette._replay.time.perf_counter", clock.perf_counter)
    monkeypatch.setattr("streamcassette._replay.time.sleep", clock.sleep)
    return clock


@pytest.fixture
def counting_listener() -> Iterator[tuple[str, list[int]]]:
    """A TCP port that accepts connections, counts them and closes them at once."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    server.settimeout(0.2)
    count = [0]
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            count[0] += 1
            connection.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}", count
    stop.set()
    thread.join()
    server.close()
