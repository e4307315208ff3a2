"""``--diff-streams``: live runs compared with their cassettes after masking; drift fails."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from plugin_helpers import INNER_CASSETTES, copy_cassettes, write_suite

pytest_plugins = ["pytester"]

# Tampering with a recording stands in for a server that used to answer differently; the
# end-to-end test changes a real graph instead.
OLD_JOKE = "This is a joke about ice cream and dogs"
NEW_JOKE = "This is a joke about ice cream and cats"

STRUCTURE_TEST = """

@pytest.mark.stream_cassette(policy="structure")
def test_sync_client_structure(langgraph_sync_client):
    test_sync_client(langgraph_sync_client)
"""


def _tamper(path: Path) -> None:
    text = path.read_text()
    assert NEW_JOKE in text
    path.write_text(text.replace(NEW_JOKE, OLD_JOKE))


def test_unchanged_behaviour_passes_and_writes_nothing(
    pytester: pytest.Pytester, recorded_suite: Path, langgraph_url: str
):
    """Fresh ids and timestamps are masked, so a live run of the same graphs shows no drift."""
    write_suite(pytester)
    folder = copy_cassettes(recorded_suite, pytester)
    before = {name: (folder / name).read_bytes() for name in INNER_CASSETTES}

    result = pytester.runpytest("--diff-streams", "--langgraph-url", langgraph_url)

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*cassettes: 2 compared (live drift check (nothing written)*"])
    assert {name: (folder / name).read_bytes() for name in INNER_CASSETTES} == before


def test_drift_fails_with_the_diff_unless_the_policy_ignores_it(
    pytester: pytest.Pytester, recorded_suite: Path, langgraph_url: str
):
    """A changed value fails the test with a readable diff; policy="structure" ignores text."""
    module = write_suite(pytester)
    module.write_text(module.read_text() + STRUCTURE_TEST)
    folder = copy_cassettes(recorded_suite, pytester)
    shutil.copy(folder / "test_sync_client.json", folder / "test_sync_client_structure.json")
    _tamper(folder / "test_sync_client.json")
    _tamper(folder / "test_sync_client_structure.json")

    result = pytester.runpytest(
        "--diff-streams", "-k", "sync_client", "--langgraph-url", langgraph_url
    )

    result.assert_outcomes(passed=1, failed=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_sync_client _*",
            "stream drift: the live server no longer streams what "
            "cassettes/test_jokes/test_sync_client.json recorded",
            "",
            "cassettes/test_jokes/test_sync_client.json -> live: 1 difference in 1 of 1 streams "
            "(modes: updates; policy: exact)",
            "stream 0: POST /threads/<uuid:1>/runs/stream",
            f"*generate_joke*joke: '{OLD_JOKE}' -> '{NEW_JOKE}'*",
            "if the new behaviour is intended, re-record the cassette: pytest --record-streams "
            '"test_jokes.py::test_sync_client"',
            "*cassettes: 1 compared, 1 drifted*",
        ]
    )
    assert OLD_JOKE in (folder / "test_sync_client.json").read_text()


def test_with_record_streams_rewrites_and_reports_the_drift(
    pytester: pytest.Pytester, recorded_suite: Path, langgraph_url: str
):
    """Together with ``--record-streams`` the cassette is rewritten and the drift listed."""
    write_suite(pytester)
    folder = copy_cassettes(recorded_suite, pytester)
    _tamper(folder / "test_sync_client.json")

    result = pytester.runpytest(
        "--diff-streams", "--record-streams", "-k", "sync_client", "--langgraph-url", langgraph_url
    )

    result.assert_outcomes(passed=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "*cassettes: 1 recorded, 1 drifted (live drift check, recording all*",
            "drift recorded over in test_jokes.py::test_sync_client:",
            f"*joke: '{OLD_JOKE}' -> '{NEW_JOKE}'*",
        ]
    )
    text = (folder / "test_sync_client.json").read_text()
    assert NEW_JOKE in text
    assert OLD_JOKE not in text


def test_missing_cassette_fails_without_a_live_run(pytester: pytest.Pytester, langgraph_url: str):
    """Without a cassette there is nothing to compare with: the test fails before running."""
    write_suite(pytester)

    result = pytester.runpytest("--diff-streams", "--langgraph-url", langgraph_url)

    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "*test_sync_client.json: no cassette to compare the live stream with; record it "
            "with `pytest --record-streams=missing 'test_jokes.py::test_sync_client'`*",
        ]
    )
