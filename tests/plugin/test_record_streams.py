"""``--record-streams`` (``=all``) and ``--record-streams=missing``: live runs writing cassettes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_helpers import (
    INNER_CASSETTES,
    NETWORK_GUARD,
    cassette_dir,
    copy_cassettes,
    write_ini,
    write_suite,
)

from streamcassette import AttachedFrames, attached_file, frames_file_path, load

pytest_plugins = ["pytester"]


def test_records_every_selected_test_then_replays_offline(
    pytester: pytest.Pytester, langgraph_url: str
):
    """Recording writes one cassette per test, even for code that built its own client."""
    write_suite(pytester)

    # The test path right after the flag is a path, not the flag's value.
    result = pytester.runpytest(
        "--record-streams", "test_jokes.py", "--langgraph-url", langgraph_url
    )

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"*cassettes: 2 recorded (record; live server {langgraph_url})*"])
    folder = cassette_dir(pytester.path)
    assert sorted(path.name for path in folder.iterdir()) == sorted(INNER_CASSETTES)
    cassette = load(folder / "test_code_under_test[asyncio].json")
    (request,) = [i.request for i in cassette.interactions if i.request.path == "/runs/stream"]
    assert request.body is not None
    assert request.body.json()["input"] == {"topic": "ice cream"}
    assert cassette.provenance["server"]["version"]

    pytester.makeconftest(NETWORK_GUARD)
    pytester.runpytest().assert_outcomes(passed=2)


def test_rewrites_an_existing_cassette(
    pytester: pytest.Pytester, recorded_suite: Path, langgraph_url: str
):
    """``--record-streams`` replaces a cassette that already exists."""
    write_suite(pytester)
    folder = copy_cassettes(recorded_suite, pytester)
    stale = folder / "test_sync_client.json"
    document = json.loads(stale.read_text())
    document["provenance"]["recorded_at"] = "stale"
    stale.write_text(json.dumps(document))

    result = pytester.runpytest(
        "--record-streams", "-k", "sync_client", "--langgraph-url", langgraph_url
    )

    result.assert_outcomes(passed=1, deselected=1)
    assert load(stale).provenance["recorded_at"] != "stale"


def test_failed_test_keeps_the_old_cassette(pytester: pytest.Pytester, langgraph_url: str):
    """A recording whose test fails is not saved, so a good cassette is never replaced."""
    write_ini(pytester)
    pytester.makepyfile(
        test_fail="""
        import pytest

        @pytest.mark.stream_cassette("kept")
        def test_fails():
            assert False, "the test failed"
        """
    )
    kept = cassette_dir(pytester.path, "test_fail") / "kept.json"
    kept.parent.mkdir(parents=True)
    kept.write_text("old bytes")

    result = pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*cassettes: 1 not saved*"])
    assert kept.read_text() == "old bytes"


def test_missing_records_only_what_does_not_exist(
    pytester: pytest.Pytester, recorded_suite: Path, langgraph_url: str
):
    """``=missing`` replays existing cassettes untouched and records the missing ones."""
    write_suite(pytester)
    folder = copy_cassettes(recorded_suite, pytester)
    existing = folder / "test_code_under_test[asyncio].json"
    before = existing.read_bytes()
    (folder / "test_sync_client.json").unlink()

    result = pytester.runpytest("--record-streams=missing", "--langgraph-url", langgraph_url)

    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*cassettes: 1 replayed, 1 recorded (record missing*"])
    assert existing.read_bytes() == before
    assert load(folder / "test_sync_client.json").streams()


def test_rejects_an_unknown_record_mode(pytester: pytest.Pytester):
    """A misspelt mode is a usage error that names both valid forms."""
    write_suite(pytester)

    result = pytester.runpytest("--record-streams=everything")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--record-streams='everything': choose --record-streams *--record-streams=missing*"]
    )


def test_two_tests_cannot_record_one_cassette(pytester: pytest.Pytester, langgraph_url: str):
    """A second test recording a cassette already recorded in the run fails naming the first."""
    write_ini(pytester)
    pytester.makepyfile(
        test_shared="""
        import pytest

        @pytest.mark.stream_cassette("shared")
        def test_one():
            pass

        @pytest.mark.stream_cassette("shared")
        def test_two():
            pass
        """
    )

    result = pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url)

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*shared.json was already recorded in this run by test_shared.py::test_one*"]
    )


def test_attach_setting_chooses_where_the_frames_go(pytester: pytest.Pytester, langgraph_url: str):
    """``attach=True`` on the marker writes ``X.json`` + ``X.sse`` even though the project
    says ``attach = false``; the unmarked test embeds its frames; both replay offline."""
    write_ini(pytester)
    pytester.makefile(".toml", pyproject="[tool.streamcassette]\nattach = false\n")
    pytester.makepyfile(
        test_attach="""
        import pytest

        def _joke(client):
            thread = client.threads.create()
            parts = list(
                client.runs.stream(
                    thread["thread_id"], "joke", input={"topic": "tea"}, stream_mode="updates"
                )
            )
            assert [part.event for part in parts] == ["metadata", "updates", "updates"]

        @pytest.mark.stream_cassette("attached", attach=True)
        def test_attached(langgraph_sync_client):
            _joke(langgraph_sync_client)

        @pytest.mark.stream_cassette("embedded")
        def test_embedded(langgraph_sync_client):
            _joke(langgraph_sync_client)
        """
    )

    result = pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url)

    result.assert_outcomes(passed=2)
    folder = cassette_dir(pytester.path, "test_attach")
    assert sorted(path.name for path in folder.iterdir()) == [
        "attached.json",
        "attached.sse",
        "embedded.json",
    ]
    attached = folder / "attached.json"
    assert attached_file(attached) == frames_file_path(attached)
    (_, interaction), *_ = load(attached).streams()
    assert interaction.response.stream is not None
    assert isinstance(interaction.response.stream.frames, AttachedFrames)
    assert attached_file(folder / "embedded.json") is None

    pytester.makeconftest(NETWORK_GUARD)
    pytester.runpytest().assert_outcomes(passed=2)
