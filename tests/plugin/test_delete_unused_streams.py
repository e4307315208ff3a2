"""Unused cassettes: reported after every run, deleted with ``--delete-unused-streams``."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugin_helpers import write_ini

from streamcassette import (
    Cassette,
    Interaction,
    RecordedFrame,
    RecordedRequest,
    RecordedResponse,
    RecordedStream,
    save,
)

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


# --- cassettes whose frames are attached in a .sse file beside them ----------------------


def _streamed(text: str) -> Cassette:
    """A cassette with one SSE stream, so that ``save(..., attach=True)`` attaches it."""
    frame = RecordedFrame(0.0, f"event: values\r\ndata: {text}\r\n\r\n".encode())
    response = RecordedResponse(
        200, [("content-type", "text/event-stream")], stream=RecordedStream(frames=[frame])
    )
    return Cassette([Interaction(RecordedRequest("POST", "/runs/stream"), response)])


def _setup_attached(pytester: pytest.Pytester) -> Path:
    """``_setup`` with the used and the stale cassette's frames attached (``X.sse``)."""
    folder = _setup(pytester)
    save(_streamed('"used"'), folder / "test_used.json", attach=True)
    save(_streamed('"stale"'), folder / "stale.json", attach=True)
    assert (folder / "test_used.sse").is_file()
    assert (folder / "stale.sse").is_file()
    return folder


def test_an_unused_cassette_is_listed_with_its_frames_file(pytester: pytest.Pytester):
    """The stale cassette is listed with its .sse; a used cassette's .sse is never listed."""
    folder = _setup_attached(pytester)

    result = pytester.runpytest()

    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "*1 unused cassette(s) (no collected test uses them):",
            "  cassettes/test_mod/stale.json (+ stale.sse)",
            "delete them with `pytest --delete-unused-streams`",
        ]
    )
    assert "test_used.sse" not in result.stdout.str()
    assert (folder / "stale.json").exists()
    assert (folder / "stale.sse").exists()


def test_delete_removes_an_unused_cassettes_frames_file_too(pytester: pytest.Pytester):
    """The stale cassette goes with its .sse; the used one keeps its own."""
    folder = _setup_attached(pytester)

    result = pytester.runpytest("--delete-unused-streams")

    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(
        ["*deleted 1 unused cassette(s):", "  cassettes/test_mod/stale.json (+ stale.sse)"]
    )
    assert sorted(path.name for path in folder.iterdir()) == [
        "notes.json",
        "test_other.json",
        "test_skipped.json",
        "test_used.json",
        "test_used.sse",
    ]


def test_delete_keeps_a_frames_file_the_cassette_does_not_attach(pytester: pytest.Pytester):
    """Only a .sse file the cassette attaches frames in goes with it: ``stale.json``, saved
    embedded here, leaves the ``stale.sse`` lying beside it alone."""
    folder = _setup_attached(pytester)
    sidecar = (folder / "stale.sse").read_bytes()
    save(_streamed('"stale"'), folder / "stale.json", attach=False)  # removes its own .sse
    (folder / "stale.sse").write_bytes(sidecar)  # ...so put an unrelated one back

    result = pytester.runpytest("--delete-unused-streams")

    result.assert_outcomes(passed=2, skipped=1)
    result.stdout.fnmatch_lines(DELETED)
    assert "(+" not in result.stdout.str()
    assert sorted(path.name for path in folder.iterdir()) == [
        "notes.json",
        "stale.sse",
        "test_other.json",
        "test_skipped.json",
        "test_used.json",
        "test_used.sse",
    ]
