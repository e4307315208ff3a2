"""The fixtures: ``stream_cassette``, the async and sync clients, ``stream_cassette_dir``."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugin_helpers import copy_cassettes, write_ini, write_suite

from streamcassette import Cassette, save

pytest_plugins = ["pytester"]

DEAD_URL = "http://127.0.0.1:9"

HANDLE_TEST = """
def test_handle(stream_cassette):
    assert stream_cassette.action == {action!r}
    assert stream_cassette.recording is {recording}
    assert stream_cassette.path.name == "test_handle.json"
    assert stream_cassette.live_url == {live_url!r}
    assert stream_cassette.cassette.interactions == []
"""


def test_handle_in_replay(pytester: pytest.Pytester):
    """In replay the handle serves the file offline and has no live URL."""
    write_ini(pytester)
    save(Cassette(), pytester.path / "cassettes" / "test_handle" / "test_handle.json")
    pytester.makepyfile(
        test_handle=HANDLE_TEST.format(action="replay", recording=False, live_url=None)
    )

    pytester.runpytest().assert_outcomes(passed=1)


def test_handle_when_recording(pytester: pytest.Pytester, langgraph_url: str):
    """When recording, the handle records afresh and knows the live URL."""
    write_ini(pytester)
    pytester.makepyfile(
        test_handle=HANDLE_TEST.format(action="record", recording=True, live_url=langgraph_url)
    )

    result = pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url)

    result.assert_outcomes(passed=1)
    assert (pytester.path / "cassettes" / "test_handle" / "test_handle.json").is_file()


def test_async_and_sync_clients_replay_the_same_cassette(
    pytester: pytest.Pytester, recorded_suite: Path
):
    """The async client fixture replays, offline, a cassette recorded with the sync one."""
    write_suite(pytester, guard=True)
    copy_cassettes(recorded_suite, pytester)
    pytester.makepyfile(
        test_async="""
        import pytest

        @pytest.fixture
        def stream_cassette_dir(request):
            return request.config.rootpath / "cassettes" / "test_jokes"

        @pytest.mark.anyio
        @pytest.mark.stream_cassette("test_sync_client")
        async def test_async_client(langgraph_client):
            thread = await langgraph_client.threads.create()
            parts = [
                part
                async for part in langgraph_client.runs.stream(
                    thread["thread_id"], "joke", input={"topic": "ice cream"},
                    stream_mode="updates",
                )
            ]
            assert parts[-1].data == {
                "generate_joke": {"joke": "This is a joke about ice cream and cats"}
            }
        """
    )

    result = pytester.runpytest("test_async.py")

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*cassettes: 1 replayed (replay (offline))*"])


def test_cassette_dir_fixture_moves_the_cassettes(pytester: pytest.Pytester, langgraph_url: str):
    """Overriding ``stream_cassette_dir`` puts a test's cassettes in another folder."""
    write_ini(pytester)
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def stream_cassette_dir(tmp_path_factory, request):
            return request.config.rootpath / "recordings"
        """
    )
    pytester.makepyfile(
        test_moved="""
        def test_moved(stream_cassette):
            pass
        """
    )

    pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url).assert_outcomes(
        passed=1
    )

    assert (pytester.path / "recordings" / "test_moved.json").is_file()
    assert not (pytester.path / "cassettes").exists()
