"""``--langgraph-url`` (or ``$STREAMCASSETTE_LANGGRAPH_URL``): the live server to record from."""

from __future__ import annotations

import pytest
from plugin_helpers import write_ini

from streamcassette import load

pytest_plugins = ["pytester"]

DEAD_URL = "http://127.0.0.1:9"  # the discard port: nothing answers there

SEARCH_TEST = """
def test_search(langgraph_sync_client):
    assert langgraph_sync_client.assistants.search()
"""


def _recorded_paths(pytester: pytest.Pytester) -> list[str]:
    cassette = load(pytester.path / "cassettes" / "test_search" / "test_search.json")
    return [interaction.request.path for interaction in cassette.interactions]


def test_environment_variable_names_the_server(
    pytester: pytest.Pytester, langgraph_url: str, monkeypatch: pytest.MonkeyPatch
):
    """Without the option, the environment variable gives the server to record from."""
    monkeypatch.setenv("STREAMCASSETTE_LANGGRAPH_URL", langgraph_url)
    write_ini(pytester)
    pytester.makepyfile(test_search=SEARCH_TEST)

    result = pytester.runpytest("--record-streams")

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*1 recorded (record; live server {langgraph_url})*"])
    assert _recorded_paths(pytester) == ["/assistants/search"]


def test_option_overrides_the_environment_variable(
    pytester: pytest.Pytester, langgraph_url: str, monkeypatch: pytest.MonkeyPatch
):
    """``--langgraph-url`` wins over a (here dead) URL in the environment."""
    monkeypatch.setenv("STREAMCASSETTE_LANGGRAPH_URL", DEAD_URL)
    write_ini(pytester)
    pytester.makepyfile(test_search=SEARCH_TEST)

    result = pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url)

    result.assert_outcomes(passed=1)
    assert _recorded_paths(pytester) == ["/assistants/search"]


def test_client_built_by_the_code_is_sent_to_the_live_server(
    pytester: pytest.Pytester, langgraph_url: str
):
    """A client that the code under test points at a dead URL is recorded from the live one."""
    write_ini(pytester)
    pytester.makepyfile(
        test_search=f"""
        import pytest
        from langgraph_sdk import get_sync_client

        @pytest.mark.stream_cassette
        def test_search():
            assert get_sync_client(url="{DEAD_URL}").assistants.search()
        """
    )

    result = pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url)

    result.assert_outcomes(passed=1)
    assert _recorded_paths(pytester) == ["/assistants/search"]


def test_without_a_server_the_code_keeps_its_own_url(
    pytester: pytest.Pytester, langgraph_url: str, monkeypatch: pytest.MonkeyPatch
):
    """With no server configured, a client built by the code records from the code's URL."""
    monkeypatch.delenv("STREAMCASSETTE_LANGGRAPH_URL", raising=False)
    write_ini(pytester)
    pytester.makepyfile(
        test_search=f"""
        import pytest
        from langgraph_sdk import get_sync_client

        @pytest.mark.stream_cassette
        def test_search():
            with get_sync_client(url="{langgraph_url}") as client:
                assert client.assistants.search()
        """
    )

    result = pytester.runpytest("--record-streams")

    result.assert_outcomes(passed=1)
    assert _recorded_paths(pytester) == ["/assistants/search"]


def test_fixture_clients_need_a_server_to_record(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
):
    """Recording with the client fixtures but no server fails and lists the ways to name one."""
    monkeypatch.delenv("STREAMCASSETTE_LANGGRAPH_URL", raising=False)
    write_ini(pytester)
    pytester.makepyfile(test_search=SEARCH_TEST)

    result = pytester.runpytest("--record-streams")

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*the langgraph_client fixtures need a live server when recording: pass "
            "--langgraph-url URL, set $STREAMCASSETTE_LANGGRAPH_URL, or put a langgraph.json "
            "in the rootdir*"
        ]
    )
