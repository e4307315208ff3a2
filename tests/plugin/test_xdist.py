"""pytest-xdist (``-n 2``): whole cassettes from every worker, one summary on the controller."""

from __future__ import annotations

import pytest
from plugin_helpers import NETWORK_GUARD, write_ini

from streamcassette import load

pytest_plugins = ["pytester"]

COUNT = 8
MANY = f"""
import pytest

@pytest.mark.parametrize("n", range({COUNT}))
def test_many(langgraph_sync_client, n):
    thread = langgraph_sync_client.threads.create(metadata={{"n": n}})
    assert langgraph_sync_client.threads.get(thread["thread_id"])["metadata"]["n"] == n
"""


def _cassettes(pytester: pytest.Pytester) -> list[str]:
    return sorted(path.name for path in (pytester.path / "cassettes" / "test_many").iterdir())


def test_record_then_replay_under_two_workers(pytester: pytest.Pytester, langgraph_url: str):
    """Every worker's recordings land whole; the controller sums up and handles unused files."""
    write_ini(pytester)
    pytester.makepyfile(test_many=MANY)

    result = pytester.runpytest_subprocess(
        "-n", "2", "--record-streams", "--langgraph-url", langgraph_url
    )

    result.assert_outcomes(passed=COUNT)
    result.stdout.fnmatch_lines([f"*cassettes: {COUNT} recorded (record; live server *"])
    assert _cassettes(pytester) == sorted(f"test_many[{n}].json" for n in range(COUNT))
    for n in range(COUNT):
        cassette = load(pytester.path / "cassettes" / "test_many" / f"test_many[{n}].json")
        (create, get) = cassette.interactions
        assert create.request.body is not None
        assert create.request.body.json()["metadata"] == {"n": n}
        assert get.request.path.startswith("/threads/")

    stale = pytester.path / "cassettes" / "test_many" / "test_many[99].json"
    stale.write_bytes(
        (pytester.path / "cassettes" / "test_many" / "test_many[0].json").read_bytes()
    )
    pytester.makeconftest(NETWORK_GUARD)

    result = pytester.runpytest_subprocess("-n", "2", "--delete-unused-streams")

    result.assert_outcomes(passed=COUNT)
    result.stdout.fnmatch_lines(
        [
            f"*cassettes: {COUNT} replayed (replay (offline))*",
            "*deleted 1 unused cassette(s):",
            "  cassettes/test_many/test_many[[]99[]].json",
        ]
    )
    assert result.stdout.str().count("test_many[99].json") == 1
    assert not stale.exists()


def test_dist_each_records_each_cassette_once(pytester: pytest.Pytester, langgraph_url: str):
    """With ``--dist each`` both workers run every test; only one of them writes the cassette."""
    write_ini(pytester)
    pytester.makepyfile(test_many=MANY.replace(f"range({COUNT})", "range(2)"))

    result = pytester.runpytest_subprocess(
        "-n", "2", "--dist", "each", "--record-streams", "--langgraph-url", langgraph_url
    )

    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*cassettes: 2 recorded, 2 recorded elsewhere (record;*"])
    assert _cassettes(pytester) == ["test_many[0].json", "test_many[1].json"]
    for n in range(2):
        load(pytester.path / "cassettes" / "test_many" / f"test_many[{n}].json")
