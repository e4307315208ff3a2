"""The plugin's state for one pytest run, kept in ``config.stash`` (no module globals).

Under pytest-xdist every worker fills its own state and sends it to the controller at
the end (``workeroutput``); the controller merges them, so the summary and the unused
cassette report see the whole run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest

from ._paths import default_cassette_dir
from ._server import LiveServer

__all__ = ["STATE_KEY", "Options", "PluginState", "RecordMode"]

RecordMode = Literal["all", "missing"]


@dataclass(frozen=True)
class Options:
    """The command-line options, validated."""

    record: RecordMode | None
    diff: bool
    delete_unused: bool

    @property
    def describe(self) -> str:
        if self.diff and self.record:
            return f"live drift check, recording {self.record}"
        if self.diff:
            return "live drift check (nothing written)"
        if self.record == "all":
            return "record"
        if self.record == "missing":
            return "record missing, replay the rest"
        return "replay"


@dataclass
class PluginState:
    options: Options
    live: LiveServer
    # The [tool.streamcassette] settings layer, and its cassette-dir (None: the default).
    project_config: dict[str, Any]
    cassette_root: Path | None
    rootdir: Path
    is_worker: bool
    # Shared by every process of a recording run (xdist: the controller makes it and
    # hands it on); None when nothing is recorded.
    claims_dir: Path | None
    owns_claims_dir: bool
    # Outcome labels of every test that had a cassette: replayed, recorded, compared, ...
    counts: Counter[str] = field(default_factory=Counter)
    used: set[str] = field(default_factory=set)
    # Cassettes that collected tests would use with the default layout (even if not run).
    owned: set[str] = field(default_factory=set)
    # Cassette folders of test modules collected in full: checked for unused cassettes.
    scan_dirs: set[str] = field(default_factory=set)
    partial_modules: set[str] = field(default_factory=set)
    # (node id, rendered diff) of drift that was recorded over (reported, not failed).
    drift: list[tuple[str, str]] = field(default_factory=list)
    server_urls: set[str] = field(default_factory=set)
    # Tests whose recording saved no interaction, and replays that left interactions unasked.
    empty: list[str] = field(default_factory=list)
    unplayed: list[tuple[str, list[str]]] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    # The attached frames files (``.sse``) that go with an unused cassette, by cassette.
    unused_frames: dict[str, str] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)

    def default_dir(self, module_path: Path) -> Path:
        """A test module's cassette folder (see ``_paths.default_cassette_dir``)."""
        return default_cassette_dir(module_path, self.cassette_root, self.rootdir)

    # -- claims: one recording per cassette per run, across xdist workers -------------

    def claim(self, path: Path, nodeid: str) -> str | None:
        """Claim ``path`` for ``nodeid``'s recording; return the node id of an earlier claim.

        The claim is a file linked into place with its content already written: two
        processes cannot both win it, and the loser never reads a half-written claim.
        """
        assert self.claims_dir is not None, "claims are only made when recording"
        key = hashlib.sha1(str(path.resolve()).encode(), usedforsecurity=False).hexdigest()
        claim = self.claims_dir / key
        draft = self.claims_dir / f".{key}.{os.getpid()}.{threading.get_ident()}"
        draft.write_text(nodeid, encoding="utf-8")
        try:
            os.link(draft, claim)
        except FileExistsError:
            return claim.read_text(encoding="utf-8")
        finally:
            draft.unlink()
        return None

    # -- xdist transfer ---------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "used": sorted(self.used),
            "owned": sorted(self.owned),
            "scan_dirs": sorted(self.scan_dirs),
            "partial_modules": sorted(self.partial_modules),
            "drift": [list(entry) for entry in self.drift],
            "server_urls": sorted(self.server_urls),
            "empty": self.empty,
            "unplayed": [[nodeid, listed] for nodeid, listed in self.unplayed],
        }

    def merge(self, data: dict[str, Any]) -> None:
        self.counts.update(data.get("counts", {}))
        self.used.update(data.get("used", ()))
        self.owned.update(data.get("owned", ()))
        self.scan_dirs.update(data.get("scan_dirs", ()))
        self.partial_modules.update(data.get("partial_modules", ()))
        self.drift.extend((nodeid, text) for nodeid, text in data.get("drift", ()))
        self.server_urls.update(data.get("server_urls", ()))
        self.empty.extend(data.get("empty", ()))
        self.unplayed.extend((nodeid, list(listed)) for nodeid, listed in data.get("unplayed", ()))

    def close(self) -> None:
        self.live.stop()
        if self.owns_claims_dir and self.claims_dir is not None:
            shutil.rmtree(self.claims_dir, ignore_errors=True)


def new_claims_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="streamcassette-claims-"))


STATE_KEY = pytest.StashKey[PluginState]()
