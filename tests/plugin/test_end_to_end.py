"""End to end: record a suite, replay it offline, change a graph, see ``--diff-streams`` fail.

The project is a copy of the test graphs with the inner suite beside it, so the plugin
starts (and stops) ``langgraph dev`` itself from the rootdir's langgraph.json; under
``-n 2`` the controller starts that one server for both workers. The drift is real: the
graph's code changes between the recording and the drift run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from plugin_helpers import INNER_CASSETTES, NETWORK_GUARD, cassette_dir, write_suite

pytest_plugins = ["pytester"]

GRAPHS = Path(__file__).parents[1] / "graphs"
OLD = "This is a joke about"
NEW = "Here is a joke about"


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_record_replay_offline_then_drift(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, workers: list[str]
):
    """Recording, offline replay and a drift report naming a changed node's output."""
    monkeypatch.delenv("STREAMCASSETTE_LANGGRAPH_URL", raising=False)
    shutil.copy(GRAPHS / "joke.py", pytester.path / "joke.py")
    # Only the joke graph: the others are not needed and would slow the server's start.
    (pytester.path / "langgraph.json").write_text(
        '{"dependencies": ["."], "graphs": {"joke": "./joke.py:graph"}}'
    )
    write_suite(pytester)
    # xdist needs a fresh interpreter; the single-process runs can stay in this one.
    run = pytester.runpytest_subprocess if workers else pytester.runpytest

    # 1. Record: the plugin runs langgraph dev from ./langgraph.json, then stops it.
    result = run("--record-streams", *workers)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*cassettes: 2 recorded (record; live server http://127.0.0.1:*"])
    folder = cassette_dir(pytester.path)
    recorded = {name: (folder / name).read_bytes() for name in INNER_CASSETTES}

    # 2. Replay with every connection refused: green, and nothing is written.
    conftest = pytester.makeconftest(NETWORK_GUARD)
    result = run(*workers)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*cassettes: 2 replayed (replay (offline))*"])
    conftest.unlink()

    # 3. The graph changes behaviour; the drift run fails both tests with the change named.
    graph = pytester.path / "joke.py"
    graph.write_text(graph.read_text().replace(OLD, NEW))
    result = run("--diff-streams", *workers)
    result.assert_outcomes(failed=2)
    joke = "ice cream and cats"
    change = f"*frame 2, node 'generate_joke': joke: '{OLD} {joke}' -> '{NEW} {joke}'"
    # The test that also asserts the joke fails on its own assertion, with the drift attached.
    result.stdout.fnmatch_lines(
        [
            "*AssertionError*",
            "*Captured stream drift call*",
            "stream drift: the live server no longer streams what "
            "cassettes/test_jokes/test_code_under_test[[]asyncio[]].json recorded",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*stream drift: the live server no longer streams what "
            "cassettes/test_jokes/test_sync_client.json recorded",
            "*: 1 difference in 1 of 1 streams (modes: updates; policy: exact)",
            change,
            "*cassettes: 2 drifted (live drift check (nothing written)*",
        ]
    )
    assert {name: (folder / name).read_bytes() for name in INNER_CASSETTES} == recorded
