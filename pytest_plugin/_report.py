"""The terminal summary: what happened to the cassettes, and which ones no test uses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ._paths import CASSETTE_SUFFIX
from ._state import PluginState

__all__ = ["find_unused", "summary_line", "write_summary"]

# The order of the counts in the summary line.
_LABELS = (
    "replayed",
    "recorded",
    "compared",
    "drifted",
    "missing",
    "not saved",
    "recorded elsewhere",
)
_SNIFF = b'"format": "streamcassette"'


def _is_cassette(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return _SNIFF in file.read(200)
    except OSError:
        return False


def find_unused(state: PluginState) -> list[str]:
    """Cassette files in the folders of fully collected modules that no collected test owns.

    A test owns its cassette whether or not it ran (deselected and skipped tests keep
    theirs); modules named with ``::`` on the command line are not looked at, since only
    part of them was collected.
    """
    taken = state.owned | state.used
    unused: list[str] = []
    for folder in sorted(state.scan_dirs):
        root = Path(folder)
        if not root.is_dir():
            continue
        for path in sorted(root.rglob(f"*{CASSETTE_SUFFIX}")):
            resolved = str(path.resolve())
            if resolved not in taken and path.is_file() and _is_cassette(path):
                unused.append(resolved)
    return unused


def summary_line(state: PluginState) -> str:
    counts = state.counts
    parts = [f"{counts[label]} {label}" for label in _LABELS if counts[label]]
    return "cassettes: " + (", ".join(parts) if parts else "none used")


def _relative(name: str) -> str:
    try:
        return os.path.relpath(name)
    except ValueError:
        return name


def write_summary(terminal: pytest.TerminalReporter, state: PluginState) -> None:
    if not state.counts and not state.unused and not state.deleted:
        return
    terminal.write_sep("-", "streamcassette")
    mode = state.options.describe
    server = f"; live server {', '.join(sorted(state.server_urls))}" if state.server_urls else ""
    terminal.write_line(f"{summary_line(state)} ({mode}{server})")
    for nodeid, text in state.drift:
        terminal.write_line("")
        terminal.write_line(f"drift recorded over in {nodeid}:", yellow=True, bold=True)
        terminal.write_line(text.rstrip())
    if state.deleted:
        terminal.write_line(f"deleted {len(state.deleted)} unused cassette(s):")
        for name in state.deleted:
            terminal.write_line(f"  {_relative(name)}")
    elif state.unused:
        count = len(state.unused)
        terminal.write_line(f"{count} unused cassette(s) (no collected test uses them):")
        for name in state.unused:
            terminal.write_line(f"  {_relative(name)}")
        terminal.write_line("delete them with `pytest --delete-unused-streams`")
