"""The plugin with sealed sessions: clients built at import, nothing silent, true summaries."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from loopback import loopback_server
from plugin_helpers import NETWORK_GUARD, write_ini

from streamcassette import load

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.live

# An app module in the usual layout: its SDK client is built when it is imported.
APP = textwrap.dedent(
    """
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url="http://127.0.0.1:9")


    def tell_joke(topic):
        thread = client.threads.create()
        parts = client.runs.stream(
            thread["thread_id"], "joke", input={"topic": topic}, stream_mode="updates"
        )
        return [part.data for part in parts if part.event == "updates"]
    """
)

APP_TESTS = textwrap.dedent(
    """
    import pytest

    import app


    @pytest.mark.stream_cassette
    def test_joke():
        assert app.tell_joke("ice cream")[-1] == {
            "generate_joke": {"joke": "This is a joke about ice cream and cats"}
        }
    """
)


def write_app(pytester: pytest.Pytester) -> None:
    write_ini(pytester)
    pytester.makepyfile(app=APP, test_app=APP_TESTS)
    pytester.syspathinsert()


def test_app_client_built_at_import_records_replays_and_diffs(
    pytester: pytest.Pytester, langgraph_url: str
):
    """--record-streams captures the import-time client; replay is offline; diff is clean."""
    write_app(pytester)
    recorded = pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url)
    recorded.assert_outcomes(passed=1)
    recorded.stdout.fnmatch_lines(["*cassettes: 1 recorded*"])
    cassette = load(pytester.path / "cassettes" / "test_app" / "test_joke.json")
    # threads.create, runs.stream, and the SDK's follow-up GET of the run
    assert [i.request.method for i in cassette.interactions] == ["POST", "POST", "GET"]

    pytester.makeconftest(NETWORK_GUARD)
    replayed = pytester.runpytest()
    replayed.assert_outcomes(passed=1)
    replayed.stdout.fnmatch_lines(["*cassettes: 1 replayed (replay (offline))*"])

    (pytester.path / "conftest.py").unlink()
    diffed = pytester.runpytest("--diff-streams", "--langgraph-url", langgraph_url)
    diffed.assert_outcomes(passed=1)
    diffed.stdout.fnmatch_lines(["*cassettes: 1 compared*"])


def test_a_recording_that_caught_nothing_is_named_in_the_summary(
    pytester: pytest.Pytester, langgraph_url: str
):
    """A marked test whose code never reached the server is reported as recording nothing."""
    write_ini(pytester)
    pytester.makepyfile(
        test_idle="""
        import pytest

        @pytest.mark.stream_cassette
        def test_idle():
            assert True
        """
    )
    result = pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*cassettes: 1 recorded, 1 recorded nothing*",
            "*1 recording(s) saved no interaction*",
            "*test_idle.py::test_idle",
        ]
    )


def test_unplayed_interactions_are_listed_and_can_fail_the_test(
    pytester: pytest.Pytester, langgraph_url: str
):
    """A replay that skips recorded requests is listed; require_all_played fails it."""
    write_app(pytester)
    pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url).assert_outcomes(
        passed=1
    )
    partial = APP_TESTS.replace(
        'assert app.tell_joke("ice cream")[-1] == {\n'
        '        "generate_joke": {"joke": "This is a joke about ice cream and cats"}\n'
        "    }",
        "app.client.threads.create()",
    )
    assert partial != APP_TESTS
    pytester.makepyfile(test_app=partial)
    listed = pytester.runpytest()
    listed.assert_outcomes(passed=1)
    listed.stdout.fnmatch_lines(
        [
            "*1 replay(s) left recorded interactions unasked:*",
            "*test_app.py::test_joke: #1 POST /threads/*/runs/stream*",
        ]
    )
    pytester.makepyfile(
        test_app=partial.replace(
            "@pytest.mark.stream_cassette", "@pytest.mark.stream_cassette(require_all_played=True)"
        )
    )
    strict = pytester.runpytest()
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(["*2 recorded interaction(s) were never requested*"])


def test_another_host_fails_a_replayed_test_unless_allowed(
    pytester: pytest.Pytester, tmp_path: Path
):
    """Replay is sealed: another host fails the test; allowed, it is reached and reported."""
    write_ini(pytester)
    with loopback_server() as other:
        test = textwrap.dedent(
            f"""
            import httpx
            import pytest
            from streamcassette import Cassette, save

            @pytest.fixture
            def stream_cassette_dir(tmp_path):
                save(Cassette(), tmp_path / "test_other.json")
                return tmp_path

            @pytest.mark.stream_cassette
            def test_other():
                try:
                    httpx.get("{other.url}/elsewhere")
                except httpx.RequestError:
                    pass  # the code under test swallows it: the plugin still fails the test
            """
        )
        pytester.makepyfile(test_other=test)
        blocked = pytester.runpytest()
        blocked.assert_outcomes(failed=1)
        blocked.stdout.fnmatch_lines(
            [
                "*tried to reach the network while*replaying*",
                "*GET http://127.0.0.1:*/elsewhere was blocked*the marker*s allow_hosts=*",
            ]
        )
        assert other.connections == 0
        pytester.makepyfile(
            test_other=test.replace(
                "@pytest.mark.stream_cassette",
                f'@pytest.mark.stream_cassette(allow_hosts=["127.0.0.1:{other.port}"])',
            )
        )
        allowed = pytester.runpytest()
        allowed.assert_outcomes(passed=1)
        allowed.stdout.fnmatch_lines(
            ["*cassettes: 1 replayed, 1 reached allowed hosts (replay; not offline*"]
        )
        assert other.requests == ["GET /elsewhere"]
