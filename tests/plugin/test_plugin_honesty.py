"""The plugin fails fast and says what to do: an unreachable server fails the session once,
a missing cassette names the one command that records it, a new stream snapshot records
with the cassette, and no secret reaches a cassette."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugin_helpers import write_ini

pytest_plugins = ["pytester"]

TWO_TESTS = """
def test_one(langgraph_sync_client):
    assert langgraph_sync_client.assistants.search()


def test_two(langgraph_sync_client):
    assert langgraph_sync_client.assistants.search()
"""


def test_unreachable_url_fails_the_session_once(
    pytester: pytest.Pytester, counting_listener: tuple[str, list[int]]
) -> None:
    """A dead --langgraph-url is probed once: the first test fails with the URL and the
    fix, the session stops, and the server saw one probe, not each test's retries."""
    url, connections = counting_listener
    write_ini(pytester)
    pytester.makepyfile(test_search=TWO_TESTS)

    result = pytester.runpytest("--record-streams", "--langgraph-url", url)

    outcomes = result.parseoutcomes()
    assert outcomes == {"errors": 1}
    result.stdout.fnmatch_lines([f"*cannot reach the LangGraph server at {url}*"])
    result.stdout.fnmatch_lines(["*--langgraph-url*"])
    assert connections[0] <= 2


def test_missing_cassette_names_the_node_to_record(pytester: pytest.Pytester) -> None:
    """The missing-cassette error gives --record-streams=missing and the test's node id."""
    write_ini(pytester)
    pytester.makepyfile(test_search=TWO_TESTS)

    result = pytester.runpytest("-k", "test_two")

    result.stdout.fnmatch_lines(["*`pytest --record-streams=missing 'test_search.py::test_two'`*"])


SNAPSHOT_TEST = """
def test_weather(langgraph_sync_client, stream_snapshot):
    parts = list(
        langgraph_sync_client.runs.stream(
            None, "joke", input={"topic": "ice cream"}, stream_mode="updates"
        )
    )
    assert parts == stream_snapshot
"""


def test_new_snapshot_test_records_in_one_command(
    pytester: pytest.Pytester, langgraph_url: str
) -> None:
    """``--record-streams`` writes a new test's cassette and its missing stream snapshot
    in one run; the next plain run replays and compares both."""
    write_ini(pytester)
    pytester.makepyfile(test_snap=SNAPSHOT_TEST)

    result = pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url)

    result.assert_outcomes(passed=1)
    snapshot = pytester.path / "__snapshots__" / "test_snap" / "test_weather.stream.txt"
    assert snapshot.is_file()
    assert "event: updates" in snapshot.read_text()
    pytester.runpytest().assert_outcomes(passed=1)


def test_recording_does_not_write_over_a_drifted_snapshot(
    pytester: pytest.Pytester, langgraph_url: str
) -> None:
    """An existing snapshot that no longer matches still fails under --record-streams."""
    write_ini(pytester)
    pytester.makepyfile(test_snap=SNAPSHOT_TEST)
    snapshot = pytester.path / "__snapshots__" / "test_snap" / "test_weather.stream.txt"
    pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url)
    snapshot.write_text(snapshot.read_text().replace("ice cream", "pizza"))

    result = pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url)

    result.assert_outcomes(failed=1)
    assert "pizza" in snapshot.read_text()


SECRET = "sk-plugin-SECRET-7777"
SECRET_TEST = f"""
import pytest


@pytest.mark.stream_cassette(redact_keys=["tenant"], redact_paths=["**.metadata.note"])
def test_debug(langgraph_sync_client):
    parts = list(
        langgraph_sync_client.runs.stream(
            None,
            "joke",
            input={{"topic": "ice cream"}},
            config={{"configurable": {{"openai_api_key": "{SECRET}", "tenant": "{SECRET}-t"}}}},
            metadata={{"note": "{SECRET}-n"}},
            stream_mode="debug",
            params={{"api-key": "{SECRET}-q"}},
            headers={{"x-tenant-hint": "{SECRET}-h"}},
        )
    )
    assert parts
"""
# A request hook from the config fixture: it drops a header the key rule does not know.
SECRET_CONFTEST = """
import dataclasses

import pytest


def _without_hint(request):
    headers = [(k, v) for k, v in request.headers if k.lower() != "x-tenant-hint"]
    return dataclasses.replace(request, headers=headers)


@pytest.fixture
def stream_cassette_config():
    return {"before_record_request": _without_hint}
"""


def test_plugin_writes_no_secret(pytester: pytest.Pytester, langgraph_url: str) -> None:
    """A recorded test whose config carries an API key (echoed by ``debug`` frames), a
    marker-named key, a marker-named path, an api-key query parameter and a header that a
    ``before_record_request`` hook from ``stream_cassette_config`` drops writes none of
    them, and replays (matching compares the hooked form)."""
    write_ini(pytester)
    pytester.makeconftest(SECRET_CONFTEST)
    pytester.makepyfile(test_secret=SECRET_TEST)

    pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url).assert_outcomes(
        passed=1
    )

    written = [path for path in Path(pytester.path, "cassettes").rglob("*") if path.is_file()]
    assert written
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path
    pytester.runpytest().assert_outcomes(passed=1)
