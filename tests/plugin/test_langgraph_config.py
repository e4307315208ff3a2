"""``--langgraph-config``: with no URL, the plugin runs ``langgraph dev`` itself for the session."""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import pytest
from plugin_helpers import write_ini

pytest_plugins = ["pytester"]

GRAPHS = Path(__file__).parents[1] / "graphs"

# Writes the live URL down so that the outer test can check the server is gone afterwards.
URL_WRITER = """
from pathlib import Path

def test_search(langgraph_sync_client, stream_cassette):
    Path("live-url.txt").write_text(stream_cassette.live_url)
    assert [a["graph_id"] for a in langgraph_sync_client.assistants.search()] == ["joke"]

def test_second(langgraph_sync_client):
    assert langgraph_sync_client.assistants.search()
"""


def _project(root: Path, graph: str = "./joke.py:graph") -> Path:
    folder = root / "graphs"
    folder.mkdir()
    shutil.copy(GRAPHS / "joke.py", folder / "joke.py")
    config = folder / "langgraph.json"
    config.write_text(json.dumps({"dependencies": ["."], "graphs": {"joke": graph}}))
    return config


def _answers(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/ok", timeout=2):
            return True
    except OSError:
        return False


def test_starts_langgraph_dev_for_the_session_and_stops_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    """The named langgraph.json is served on a loopback port while the run lasts, then stopped."""
    monkeypatch.delenv("STREAMCASSETTE_LANGGRAPH_URL", raising=False)
    write_ini(pytester)
    _project(pytester.path)
    pytester.makepyfile(test_search=URL_WRITER)

    result = pytester.runpytest("--record-streams", "--langgraph-config", "graphs/langgraph.json")

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*2 recorded (record; live server http://127.0.0.1:*"])
    url = (pytester.path / "live-url.txt").read_text()
    assert url.startswith("http://127.0.0.1:")
    assert not url.endswith(":2024")
    assert not _answers(url)
    assert (pytester.path / "graphs" / ".langgraph_api").is_dir()


def test_a_server_that_fails_to_start_fails_the_run_with_its_log(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    """A graph that cannot load stops the run; the failure shows the server's last log lines."""
    monkeypatch.delenv("STREAMCASSETTE_LANGGRAPH_URL", raising=False)
    write_ini(pytester)
    _project(pytester.path, graph="./missing.py:graph")
    pytester.makepyfile(test_search=URL_WRITER)

    result = pytester.runpytest("--record-streams", "--langgraph-config", "graphs/langgraph.json")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*the embedded langgraph dev server did not start:",
            "langgraph dev exited before it was ready",
            "last lines of langgraph-dev.log:",
            "*Failed to load graph 'joke' from ./missing.py*",
            "*streamcassette: no live server (see the first failure)*",
        ]
    )


def test_a_missing_config_file_is_named(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """A --langgraph-config that does not exist fails with its path, without starting anything."""
    monkeypatch.delenv("STREAMCASSETTE_LANGGRAPH_URL", raising=False)
    write_ini(pytester)
    pytester.makepyfile(test_search=URL_WRITER)

    result = pytester.runpytest("--record-streams", "--langgraph-config", "nope/langgraph.json")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*--langgraph-config '*nope/langgraph.json' does not exist; name an existing*"]
    )
