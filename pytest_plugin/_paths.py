"""Where a test's cassette lives: default folders and names made safe for any file system.

A test's cassette is ``<test module folder>/cassettes/<module name>/<cassette name>.json``.
The cassette name is the test's name (``Class.test_name[param-id]``) unless the marker
gives one. Whatever the name, the resulting path stays inside the cassette folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from pathlib import Path, PurePosixPath

import pytest

__all__ = [
    "CASSETTE_SUFFIX",
    "cassette_path",
    "default_cassette_dir",
    "default_cassette_name",
    "display_path",
    "sanitize_segment",
]

CASSETTE_SUFFIX = ".json"
# Characters kept as they are; parametrised ids commonly use ``[``, ``]``, ``-`` and ``.``.
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-\[\]=+,@]")
_MAX_SEGMENT = 120
_HASH_LENGTH = 8


def _short_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:_HASH_LENGTH]


def sanitize_segment(name: str) -> str:
    """One path segment made of safe characters only.

    Unsafe characters become ``_``; a leading dot is replaced, so ``.`` and ``..`` cannot
    appear. When anything had to change (or the name was too long), a short hash of the
    original name is appended so that two different ids never share one cassette.
    """
    safe = _UNSAFE.sub("_", name)
    if safe.startswith("."):
        safe = "_" + safe[1:]
    if not safe:
        safe = "_"
    if safe == name and len(safe) <= _MAX_SEGMENT:
        return safe
    return f"{safe[:_MAX_SEGMENT]}-{_short_hash(name)}"


def default_cassette_dir(
    module_path: Path, root: Path | None = None, rootdir: Path | None = None
) -> Path:
    """One folder per test module: ``<module folder>/cassettes/<module name>``.

    With a project-wide ``cassette-dir`` (``root``), the folder is ``root`` plus the module's
    path relative to the rootdir, without its suffix (``<root>/tests/api/test_chat``), so
    that two modules of the same name in different packages never share a folder.
    """
    if root is None:
        return module_path.parent / "cassettes" / module_path.stem
    relative = Path(module_path.stem)
    if rootdir is not None:
        with contextlib.suppress(ValueError):  # a module outside the rootdir keeps its stem
            relative = module_path.resolve().relative_to(rootdir.resolve()).with_suffix("")
    return root / relative


def default_cassette_name(item: pytest.Item) -> str:
    """The test's name, prefixed with its class name(s): ``TestChat.test_stream[ids]``."""
    parts: list[str] = []
    node: pytest.Item | pytest.Collector | None = item.parent
    while node is not None and isinstance(node, pytest.Class):
        parts.append(node.name)
        node = node.parent
    return ".".join([*reversed(parts), item.name])


def cassette_path(directory: Path, name: str, *, nested: bool = True) -> Path:
    """The cassette file for ``name`` inside ``directory``, never outside it.

    With ``nested`` (names given by a marker), ``/`` in ``name`` makes sub-folders; each
    segment is sanitised, and absolute names and ``..`` segments are refused: a cassette
    must not escape its folder. Without it (names made from test ids, which may contain
    ``/``), the whole name is one sanitised file name.
    """
    if not name or not name.strip("/"):
        msg = f"a cassette name must not be empty; got {name!r}"
        raise ValueError(msg)
    if not nested:
        return directory / (sanitize_segment(name) + CASSETTE_SUFFIX)
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or any(part == ".." for part in posix.parts):
        msg = (
            f"cassette name {name!r} would leave the cassette folder {str(directory)!r}; "
            "use a relative name without '..'"
        )
        raise ValueError(msg)
    segments = [sanitize_segment(part) for part in posix.parts if part not in ("", ".")]
    if not segments:
        msg = f"a cassette name must name a file; got {name!r}"
        raise ValueError(msg)
    last = segments[-1]
    if not last.endswith(CASSETTE_SUFFIX):
        segments[-1] = last + CASSETTE_SUFFIX
    path = directory.joinpath(*segments)
    # Belt and braces: the checks above already make this impossible.
    if not path.resolve().is_relative_to(directory.resolve()):
        msg = f"cassette name {name!r} resolves outside {str(directory)!r}"
        raise ValueError(msg)
    return path


def display_path(path: Path, base: Path) -> Path:
    """``path`` relative to ``base`` (the invocation folder) when inside it, for messages."""
    try:
        return path.resolve().relative_to(base.resolve())
    except ValueError:
        return path
