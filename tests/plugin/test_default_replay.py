"""Plain ``pytest``: tests replay offline from their cassettes and never touch the network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_helpers import INNER_CASSETTES, copy_cassettes, write_suite

pytest_plugins = ["pytester"]


def test_replays_the_recorded_suite_offline(pytester: pytest.Pytester, recorded_suite: Path):
    """With every connection blocked, the recorded suite passes and the summary counts it."""
    write_suite(pytester, guard=True)
    copy_cassettes(recorded_suite, pytester)

    result = pytester.runpytest()

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*cassettes: 2 replayed (replay (offline))*"])


def test_missing_cassette_fails_and_says_how_to_record(pytester: pytest.Pytester):
    """A test whose cassette does not exist fails naming the path and the record command."""
    write_suite(pytester, guard=True)

    result = pytester.runpytest("-k", "sync_client")

    result.assert_outcomes(errors=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "*cassettes*test_jokes*test_sync_client.json: no such cassette; record it with "
            "`pytest --record-streams=missing 'test_jokes.py::test_sync_client'` (records "
            "only the cassettes that do not exist yet)*",
            "*cassettes: 1 missing*",
        ]
    )


def test_unmatched_request_fails_with_the_matching_error(
    pytester: pytest.Pytester, recorded_suite: Path
):
    """A request the cassette cannot answer fails the test with the mismatch and the remedy."""
    write_suite(pytester, guard=True)
    copy_cassettes(recorded_suite, pytester)
    module = pytester.path / "test_jokes.py"
    module.write_text(module.read_text().replace('"ice cream"', '"sea salt"'))

    result = pytester.runpytest("-k", "code_under_test")

    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "*UnmatchedRequestError: no recorded interaction matches POST /runs/stream*",
            "*body input.topic: 'ice cream' -> 'sea salt'*",
            "*to fix: re-record the cassette (e.g. `pytest --record-streams`*",
        ]
    )


def test_swallowed_unmatched_request_still_fails(pytester: pytest.Pytester, recorded_suite: Path):
    """Code that catches the replay error cannot make the test pass on missing data."""
    write_suite(pytester, guard=True)
    copy_cassettes(recorded_suite, pytester)
    pytester.makepyfile(
        test_jokes="""
        import httpx
        import pytest

        def test_sync_client(langgraph_sync_client):
            try:
                langgraph_sync_client.assistants.search()
            except httpx.HTTPError:
                pass
        """
    )

    result = pytester.runpytest()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*the code under test caught 1 request(s) that *test_sync_client.json cannot answer*",
            "*no recorded interaction matches POST /assistants/search*",
        ]
    )


def test_allow_unmatched_lets_a_swallowed_mismatch_pass(
    pytester: pytest.Pytester, recorded_suite: Path
):
    """``allow_unmatched=True`` on the marker accepts a mismatch the code handled itself."""
    write_suite(pytester, guard=True)
    copy_cassettes(recorded_suite, pytester)
    pytester.makepyfile(
        test_jokes="""
        import httpx
        import pytest

        @pytest.mark.stream_cassette(allow_unmatched=True)
        def test_sync_client(langgraph_sync_client):
            with pytest.raises(httpx.HTTPError):
                langgraph_sync_client.assistants.search()
        """
    )

    result = pytester.runpytest()

    result.assert_outcomes(passed=1)


def test_replay_never_starts_the_embedded_server(pytester: pytest.Pytester, recorded_suite: Path):
    """A broken langgraph.json in the rootdir is ignored: replay needs no server."""
    write_suite(pytester, guard=True)
    copy_cassettes(recorded_suite, pytester)
    (pytester.path / "langgraph.json").write_text(json.dumps({"graphs": {"x": "./nope.py:g"}}))

    result = pytester.runpytest()

    result.assert_outcomes(passed=2)
    assert not (pytester.path / ".langgraph_api").exists()
    assert not (pytester.path / "langgraph-dev.log").exists()


def test_replay_leaves_cassettes_untouched(pytester: pytest.Pytester, recorded_suite: Path):
    """Replaying writes nothing: the cassette files keep their exact bytes."""
    write_suite(pytester, guard=True)
    folder = copy_cassettes(recorded_suite, pytester)
    before = {name: (folder / name).read_bytes() for name in INNER_CASSETTES}

    pytester.runpytest().assert_outcomes(passed=2)

    assert {name: (folder / name).read_bytes() for name in INNER_CASSETTES} == before
