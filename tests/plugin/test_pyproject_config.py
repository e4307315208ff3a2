"""``[tool.streamcassette]`` in pyproject.toml: what the plugin takes from it."""

from __future__ import annotations

import textwrap

import pytest
from plugin_helpers import write_ini

pytest_plugins = ["pytester"]

DEAD_URL = "http://127.0.0.1:9"


def _pyproject(pytester: pytest.Pytester, text: str) -> None:
    pytester.makefile(".toml", pyproject=textwrap.dedent(text))


def test_cassette_dir_moves_every_module_folder(pytester: pytest.Pytester, langgraph_url: str):
    """``cassette-dir`` holds one folder per module, named by the module's path."""
    write_ini(pytester)
    _pyproject(pytester, '[tool.streamcassette]\ncassette-dir = "recordings"\n')
    pytester.mkpydir("api")
    (pytester.path / "api" / "test_chat.py").write_text(
        "def test_one(stream_cassette):\n    pass\n"
    )

    # A recording run probes its server first, so this one must be live.
    result = pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url)

    result.assert_outcomes(passed=1)
    assert (pytester.path / "recordings" / "api" / "test_chat" / "test_one.json").is_file()


def test_record_mode_setting_does_not_make_pytest_record(pytester: pytest.Pytester):
    """``record-mode`` is the command line's: plain ``pytest`` still replays only."""
    write_ini(pytester)
    _pyproject(pytester, '[tool.streamcassette]\nrecord-mode = "all"\n')
    pytester.makepyfile(test_one="def test_one(stream_cassette):\n    pass\n")

    result = pytester.runpytest("--langgraph-url", DEAD_URL)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*test_one.json: no such cassette; record it with `pytest --record-streams=missing*"]
    )


def test_invalid_settings_are_a_usage_error(pytester: pytest.Pytester):
    """A typo in the table stops pytest with the file and the key named."""
    write_ini(pytester)
    _pyproject(pytester, '[tool.streamcassette]\npolcy = "exact"\n')
    pytester.makepyfile(test_one="def test_one():\n    pass\n")

    result = pytester.runpytest()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*pyproject.toml: unknown setting 'polcy' in [[]tool.streamcassette[]]*"]
    )
