"""Cassette paths: names made safe, folders per module, nothing outside the cassette folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamcassette_pytest._paths import cassette_path, default_cassette_dir, sanitize_segment


@pytest.mark.parametrize("name", ["test_x", "test_x[1-2]", "Class.test_y[a=b,c+d@e]"])
def test_safe_names_are_kept(name: str):
    """A name of safe characters is used as it is."""
    assert sanitize_segment(name) == name


def test_unsafe_names_are_replaced_and_tagged_with_a_hash():
    """Unsafe characters become ``_`` and a hash of the original keeps names apart."""
    slash, underscore = sanitize_segment("test_x[a/b]"), sanitize_segment("test_x[a_b]")

    assert slash.startswith("test_x[a_b]-")
    assert len(slash) == len("test_x[a_b]-") + 8
    assert underscore == "test_x[a_b]"
    assert slash != underscore


@pytest.mark.parametrize("name", [".", "..", ".hidden", ""])
def test_dot_names_cannot_name_a_folder_or_hide(name: str):
    """Names starting with a dot (``.``, ``..``) or empty never stay so."""
    assert not sanitize_segment(name).startswith(".")
    assert sanitize_segment(name)


def test_long_names_are_shortened():
    """A very long id is cut to a file-system friendly length, with its hash."""
    long = "test_x[" + "a" * 500 + "]"

    assert len(sanitize_segment(long)) == 120 + 1 + 8


def test_nested_names_make_subfolders(tmp_path: Path):
    """A marker name with ``/`` is a path below the cassette folder; ``.json`` is added."""
    assert cassette_path(tmp_path, "shared/chat") == tmp_path / "shared" / "chat.json"
    assert cassette_path(tmp_path, "chat.json") == tmp_path / "chat.json"


def test_test_ids_stay_one_file(tmp_path: Path):
    """A test id is one file name, whatever ``/`` it contains."""
    path = cassette_path(tmp_path, "test_x[a/../../b]", nested=False)

    assert path.parent == tmp_path
    assert path.name.startswith("test_x[a_.._.._b]-")


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/abs", "..\\x", "/"])
def test_names_leaving_the_folder_are_refused(tmp_path: Path, name: str):
    """Absolute names, ``..`` and empty names raise a ValueError naming the problem."""
    with pytest.raises(ValueError, match="cassette name"):
        cassette_path(tmp_path, name)


def test_module_folders(tmp_path: Path):
    """Next to the module by default; below a project cassette-dir, by path from the rootdir."""
    module = tmp_path / "tests" / "api" / "test_chat.py"

    assert default_cassette_dir(module) == tmp_path / "tests" / "api" / "cassettes" / "test_chat"
    assert default_cassette_dir(module, tmp_path / "rec", tmp_path) == (
        tmp_path / "rec" / "tests" / "api" / "test_chat"
    )
