"""A LangGraph.js project: the plugin starts the project's own JavaScript server to record
(no ``--langgraph-url``), stops it with its process group, and replays offline."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from plugin_helpers import NETWORK_GUARD, cassette_dir, write_ini

pytest_plugins = ["pytester"]

JS_GRAPHS = Path(__file__).parents[1] / "js_graphs"
SUITE = textwrap.dedent(
    """
    def test_joke(langgraph_sync_client):
        parts = list(
            langgraph_sync_client.runs.stream(
                None, "joke", input={"topic": "ice cream"}, stream_mode="updates"
            )
        )
        assert [part.data for part in parts[1:]] == [
            {"write": {"joke": "A joke about ice cream"}},
            {"exclaim": {"joke": "A joke about ice cream!"}},
        ]
    """
)


def js_project(root: Path) -> None:
    """A JS project in ``root``: one graph file, its langgraph.json, the installed packages."""
    (root / "src").mkdir()
    shutil.copy(JS_GRAPHS / "src" / "joke.mjs", root / "src" / "joke.mjs")
    shutil.copy(JS_GRAPHS / "package.json", root / "package.json")
    (root / "node_modules").symlink_to(JS_GRAPHS / "node_modules", target_is_directory=True)
    (root / "langgraph.json").write_text(
        json.dumps({"node_version": "20", "graphs": {"joke": "./src/joke.mjs:graph"}})
    )


def test_records_a_js_project_with_its_own_server_then_replays_offline(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--record-streams starts `npx @langchain/langgraph-cli dev` from the project, records,
    stops it; plain pytest replays with every connection refused."""
    monkeypatch.delenv("STREAMCASSETTE_LANGGRAPH_URL", raising=False)
    js_project(pytester.path)
    write_ini(pytester)
    pytester.makepyfile(test_js=SUITE)

    result = pytester.runpytest("--record-streams")
    result.assert_outcomes(passed=1)
    summary = re.search(r"live server (http://127\.0\.0\.1:\d+)", result.stdout.str())
    assert summary is not None, result.stdout.str()
    # Stopped when the run ended: refused (URLError), or, if another process on this busy
    # machine took the freed port meanwhile, a timeout or a reset connection: each is an
    # OSError, an answer is not.
    with pytest.raises((urllib.error.URLError, TimeoutError, ConnectionError)):
        urllib.request.urlopen(f"{summary.group(1)}/ok", timeout=2)
    cassette = json.loads((cassette_dir(pytester.path, "test_js") / "test_joke.json").read_text())
    assert cassette["provenance"]["server"]["context"] == "js"

    conftest = pytester.makeconftest(NETWORK_GUARD)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*cassettes: 1 replayed (replay (offline))*"])
    conftest.unlink()


def test_the_server_option_names_the_js_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--langgraph-server=python on a JS project runs `langgraph dev`, which refuses it: the
    choice is the user's, and the failure says which server did not start."""
    monkeypatch.delenv("STREAMCASSETTE_LANGGRAPH_URL", raising=False)
    js_project(pytester.path)
    write_ini(pytester)
    pytester.makepyfile(test_js=SUITE)
    result = pytester.runpytest("--record-streams", "--langgraph-server=python")
    result.stdout.fnmatch_lines(["*the embedded langgraph dev server did not start*"])
    assert result.ret != 0
