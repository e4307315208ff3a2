"""Unused cassettes: reported after every run, deleted with ``--delete-unused-streams``."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugin_helpers import write_ini

from streamcassette import Cassette, save

pytest_plugins = ["pytester"]

MODULE = """
import pytest

@pytest.mark.stream_cassette
def test_used():
    pass

@pytest.mark.stream_cassette
def test_other():
    pass

@pytest.mark.skip(reason="not today")
@pytest.mark.stream_cassette
def test_skipped():
    pass
"""


DELETED = ["*deleted 1 unused cassette(s):", "  cassettes/test_mod/stale.json"]


def _setup(pytester: pytest.Pytester) -> Path:
    """The module, a cassette per test, a stale cassette and a JSON file that is no cassette."""
    write_ini(pytester)
    pytester.makepyfile(test_mod=MODULE)
    folder = pytester.path / "cassettes" / "test_mod"
    for name in ("test_used", "test_other", "test_skipped", "stale"):
        save(Cassette(), folder / f"{name}.json")
    (folder / "notes.json").write_text('{"not": "a cassette"}')
    return folder


def test_reports_unused_cassettes_and_deletes_nothing(pytester: pytest.Pytester):
    """Only the stale cassette is reported; skipped tests keep theirs; no file is removed."""
    folder = _setup(pytester)

    result = pytester.runpytest()

    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*1 unused cassette(s) (no collected test uses them):",
            "  cassettes/test_mod/stale.json",
            "delete them with `pytest --delete-unused-streams`",
        ]
    )
    assert (folder / "stale.json").exists()


def test_deselected_tests_keep_their_cassettes(pytester: pytest.Pytester):
    """A test left out with -k still owns its cassette."""
    _setup(pytester)

    result = pytester.runpytest("-k", "test_used", "--delete-unused-streams")

    result.assert_outcomes(passed=1, deselected=2)
    result.stdout.fnmatch_lines(
        ["*deleted 1 unused cassette(s):", "  cassettes/test_mod/stale.json"]
    )
    assert not (pytester.path / "cassettes" / "test_mod" / "stale.json").exists()
    assert (pytester.path / "cassettes" / "test_mod" / "test_other.json").exists()


def test_a_module_selected_in_part_is_not_checked(pytester: pytest.Pytester):
    """With ``module.py::test`` only part of the module is collected, so nothing is unused."""
    folder = _setup(pytester)

    result = pytester.runpytest("test_mod.py::test_used", "--delete-unused-streams")

    result.assert_outcomes(passed=1)
    assert "unused" not in result.stdout.str()
    assert sorted(path.name for path in folder.iterdir()) == [
        "notes.json",
        "stale.json",
        "test_other.json",
        "test_skipped.json",
        "test_used.json",
    ]


def test_delete_removes_only_unused_cassettes(pytester: pytest.Pytester):
    """Deletion removes the stale cassette and keeps every used file and every non-cassette."""
    folder = _setup(pytester)

    result = pytester.runpytest("--delete-unused-streams")

    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(
        ["*deleted 1 unused cassette(s):", "  cassettes/test_mod/stale.json"]
    )
    assert sorted(path.name for path in folder.iterdir()) == [
        "notes.json",
        "test_other.json",
        "test_skipped.json",
        "test_used.json",
    ]
