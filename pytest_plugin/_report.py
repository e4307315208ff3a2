"""The terminal summary: what happened to the cassettes, and which ones no test uses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streamcassette._errors import StreamCassetteError
from streamcassette._format import attached_file

from ._paths import CASSETTE_SUFFIX
from ._state import PluginState

__all__ = ["find_unused", "summary_line", "unused_frames", "write_summary"]

# The order of the counts in the summary line.
_LABELS = (
    "replayed",
    "reached allowed hosts",
    "recorded",
    "recorded nothing",
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
    part of them was collected. A cassette's attached frames file (``.sse``) is no cassette:
    it goes with the cassette that attaches frames in it (``unused_frames``), never on its own.
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


def unused_frames(unused: list[str]) -> dict[str, str]:
    """The ``.sse`` file that goes with each unused cassette whose frames are attached in
    it (see ``attached_file``); not one that merely lies beside a cassette. A cassette
    that cannot be read goes alone."""
    frames: dict[str, str] = {}
    for name in unused:
        try:
            sidecar = attached_file(name)
        except (StreamCassetteError, OSError):
            continue
        if sidecar is not None and sidecar.is_file():
            frames[name] = str(sidecar)
    return frames


def summary_line(state: PluginState) -> str:
    counts = state.counts
    parts = [f"{counts[label]} {label}" for label in _LABELS if counts[label]]
    return "cassettes: " + (", ".join(parts) if parts else "none used")


def _relative(name: str) -> str:
    try:
        return os.path.relpath(name)
    except ValueError:
        return name


def _listed(name: str, state: PluginState) -> str:
    """A cassette as the summary lists it: ``stale.json (+ stale.sse)`` when its frames
    are attached, since the two files are one cassette."""
    frames = state.unused_frames.get(name)
    if frames is None:
        return _relative(name)
    return f"{_relative(name)} (+ {Path(frames).name})"


def write_summary(terminal: pytest.TerminalReporter, state: PluginState) -> None:
    if not state.counts and not state.unused and not state.deleted:
        return
    terminal.write_sep("-", "streamcassette")
    mode = state.options.describe
    if mode == "replay":
        reached = state.counts["reached allowed hosts"]
        # Offline only when it was: a test that reached an allowed host was not.
        mode = "replay (offline)" if not reached else "replay; not offline: see allowed hosts"
    server = f"; live server {', '.join(sorted(state.server_urls))}" if state.server_urls else ""
    terminal.write_line(f"{summary_line(state)} ({mode}{server})")
    if state.empty:
        terminal.write_line(
            f"{len(state.empty)} recording(s) saved no interaction (no request reached the "
            "LangGraph server; was the client's URL the server's?):",
            yellow=True,
        )
        for nodeid in state.empty:
            terminal.write_line(f"  {nodeid}")
    if state.unplayed:
        terminal.write_line(f"{len(state.unplayed)} replay(s) left recorded interactions unasked:")
        for nodeid, listed in state.unplayed:
            terminal.write_line(f"  {nodeid}: {', '.join(listed)}")
    for nodeid, text in state.drift:
        terminal.write_line("")
        terminal.write_line(f"drift recorded over in {nodeid}:", yellow=True, bold=True)
        terminal.write_line(text.rstrip())
    if state.deleted:
        terminal.write_line(f"deleted {len(state.deleted)} unused cassette(s):")
        for name in state.deleted:
            terminal.write_line(f"  {_listed(name, state)}")
    elif state.unused:
        count = len(state.unused)
        terminal.write_line(f"{count} unused cassette(s) (no collected test uses them):")
        for name in state.unused:
            terminal.write_line(f"  {_listed(name, state)}")
        terminal.write_line("delete them with `pytest --delete-unused-streams`")
