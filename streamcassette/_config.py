"""Project settings from ``[tool.streamcassette]`` in pyproject.toml (CLI and pytest plugin).

Example::

    [tool.streamcassette]
    modes = ["updates"]             # what `diff` compares (default: updates; for v3 thread
                                    # sessions values, updates, tools, custom, lifecycle, input)
    policy = "exact"                # or "structure"
    cassette-dir = "tests/cassettes"
    attach = "auto"                 # frames in a .sse file beside the cassette: true, false,
                                    # or "auto" (from 1 MiB of frames)

    [tool.streamcassette.mask]      # added to the built-in rules
    keys = ["system_fingerprint", {key = "created", kind = "timestamp", numbered = false}]
    paths = ["**.response_metadata.id"]
    patterns = ["chatcmpl-[A-Za-z0-9]+"]
    headers = ["x-request-id"]
    disable = ["tool_call"]         # built-in rules to drop, by kind

Keys may be written with dashes or underscores. An unknown key is an error that names the file
and the key, so a typo never silently does nothing.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from ._diff import POLICIES, Policy, _check
from ._errors import StreamCassetteError
from ._mask_rules import MaskRules
from ._match import MATCHERS
from ._redact import Redactor

__all__ = [
    "ConfigError",
    "StreamCassetteConfig",
    "dump_mask_table",
    "load_config",
    "read_config",
]

PYPROJECT = "pyproject.toml"
_TABLE = "[tool.streamcassette]"


class ConfigError(StreamCassetteError, ValueError):
    """A ``[tool.streamcassette]`` table that cannot be used: names the file and the key."""


@dataclass(frozen=True)
class StreamCassetteConfig:
    """The settings of one project; defaults when it has none."""

    path: Path | None = None  # the file they were read from
    mask: MaskRules = field(default_factory=MaskRules.default)
    # None: each protocol's default (``protocols.default_modes``).
    modes: tuple[str, ...] | None = None
    policy: Policy = "exact"
    cassette_dir: Path | None = None  # relative paths are resolved against the file's folder
    # What `streamcassette record` does with an existing cassette (see RECORD_MODES).
    record_mode: str | None = None
    match_on: tuple[str, ...] | None = None
    redact: tuple[str, ...] = ()
    redact_keys: tuple[str, ...] = ()
    redact_paths: tuple[str, ...] = ()
    attach: bool | None = None  # None: "auto", once the frames reach ATTACH_FROM bytes
    allow_hosts: tuple[str, ...] = ()  # hosts replay may still reach
    urls: tuple[str, ...] = ()  # further URLs of the LangGraph server (plain httpx clients)
    alias_ids: bool | None = None  # None: the default (on)
    require_all_played: bool | None = None  # None: the default (off)


# `streamcassette record` and an existing cassette: "once" (the default) keeps it unless
# --force; "all" always records over it; "missing" skips the run when the cassette exists;
# "none" never records (the command refuses to run).
RECORD_MODES = ("once", "all", "none", "missing")

_KNOWN = (
    "mask",
    "modes",
    "policy",
    "cassette-dir",
    "record-mode",
    "match-on",
    "redact",
    "redact-keys",
    "redact-paths",
    "attach",
    "allow-hosts",
    "urls",
    "alias-ids",
    "require-all-played",
)


def load_config(start: Path) -> StreamCassetteConfig:
    """The settings of the nearest pyproject.toml with a ``[tool.streamcassette]`` table, looking
    in ``start`` (a file's folder or a folder) and then upward; defaults when there is none."""
    start = Path(start).resolve()
    folder = start if start.is_dir() else start.parent
    for candidate in (folder, *folder.parents):
        pyproject = candidate / PYPROJECT
        if pyproject.is_file():
            document = _read_toml(pyproject)
            table = document.get("tool", {}).get("streamcassette")
            if table is not None:
                return _from_table(table, pyproject)
    return StreamCassetteConfig()


def read_config(path: Path) -> StreamCassetteConfig:
    """The ``[tool.streamcassette]`` settings of one TOML file (a pyproject.toml, or a rules
    file written by ``streamcassette learn``)."""
    path = Path(path)
    document = _read_toml(path)
    table = document.get("tool", {}).get("streamcassette")
    if table is None:
        msg = f"{path}: no {_TABLE} table; write the settings under {_TABLE}"
        raise ConfigError(msg)
    return _from_table(table, path)


def _toml() -> ModuleType:
    for name in ("tomllib", "tomli"):  # tomllib is Python 3.11+; tomli is the same on 3.10
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    msg = "reading TOML needs Python 3.11+ or the 'tomli' package: pip install tomli"
    raise ConfigError(msg)


def _read_toml(path: Path) -> dict[str, Any]:
    toml = _toml()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"{path}: no such file"
        raise ConfigError(msg) from None
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{path}: cannot read it ({exc})"
        raise ConfigError(msg) from None
    try:
        document: dict[str, Any] = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        msg = f"{path}: not valid TOML ({exc}); fix the file"
        raise ConfigError(msg) from None
    return document


def _from_table(table: Any, path: Path) -> StreamCassetteConfig:
    if not isinstance(table, Mapping):
        msg = f"{path}: {_TABLE} must be a table, not {table!r}"
        raise ConfigError(msg)
    settings = {str(key).replace("_", "-"): value for key, value in table.items()}
    for key in settings:
        if key not in _KNOWN:
            msg = (
                f"{path}: unknown setting {key!r} in {_TABLE}; known settings: {', '.join(_KNOWN)}"
            )
            raise ConfigError(msg)
    where = f"{path}: {_TABLE}"
    try:
        mask_table = settings.get("mask", {})
        if not isinstance(mask_table, Mapping):
            msg = f"mask must be a table ([tool.streamcassette.mask]), not {mask_table!r}"
            raise ValueError(msg)
        mask = MaskRules.from_config(
            {str(key).replace("-", "_"): value for key, value in mask_table.items()}
        )
        modes = tuple(_strings(settings, "modes", [])) if "modes" in settings else None
        policy = settings.get("policy", "exact")
        if policy not in POLICIES:
            msg = f"policy must be one of {', '.join(POLICIES)}, not {policy!r}"
            raise ValueError(msg)
        _check(modes if modes is not None else ("updates",), policy)
        cassette_dir = settings.get("cassette-dir")
        if cassette_dir is not None and not isinstance(cassette_dir, str):
            msg = f"cassette-dir must be a path string, not {cassette_dir!r}"
            raise ValueError(msg)
        record_mode = settings.get("record-mode")
        if record_mode is not None and record_mode not in RECORD_MODES:
            msg = (
                f"record-mode must be one of {', '.join(map(repr, RECORD_MODES))}, "
                f"not {record_mode!r}"
            )
            raise ValueError(msg)
        match_on = settings.get("match-on")
        if match_on is not None:
            match_on = tuple(_strings(settings, "match-on", []))
            unknown = [name for name in match_on if name not in MATCHERS]
            if unknown:
                msg = f"match-on: unknown matcher {unknown[0]!r}; known: {', '.join(MATCHERS)}"
                raise ValueError(msg)
        redact = tuple(_strings(settings, "redact", []))
        redact_keys = tuple(_strings(settings, "redact-keys", []))
        redact_paths = tuple(_strings(settings, "redact-paths", []))
        Redactor(paths=redact_paths)  # a glob it cannot read fails here, naming the file
        attach = settings.get("attach", "auto")
        if not isinstance(attach, bool) and attach != "auto":
            msg = f'attach must be true, false or "auto", not {attach!r}'
            raise ValueError(msg)
        allow_hosts = tuple(_strings(settings, "allow-hosts", []))
        urls = tuple(_strings(settings, "urls", []))
        switches = {}
        for key in ("alias-ids", "require-all-played"):
            value = settings.get(key)
            if value is not None and not isinstance(value, bool):
                msg = f"{key} must be true or false, not {value!r}"
                raise ValueError(msg)
            switches[key] = value
    except (ValueError, TypeError) as exc:
        msg = f"{where}: {exc}"
        raise ConfigError(msg) from None
    return StreamCassetteConfig(
        path=path,
        mask=mask,
        modes=modes,
        policy=policy,
        cassette_dir=(path.parent / cassette_dir) if cassette_dir is not None else None,
        record_mode=record_mode,
        match_on=match_on,
        redact=redact,
        redact_keys=redact_keys,
        redact_paths=redact_paths,
        attach=None if attach == "auto" else attach,
        allow_hosts=allow_hosts,
        urls=urls,
        alias_ids=switches["alias-ids"],
        require_all_played=switches["require-all-played"],
    )


def _strings(settings: Mapping[str, Any], key: str, default: list[str]) -> list[str]:
    value = settings.get(key, default)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        msg = f"{key} must be a list of strings, not {value!r}"
        raise ValueError(msg)
    return value


# --- writing rules back ----------------------------------------------------------------------


def dump_mask_table(mask: Mapping[str, Any]) -> str:
    """A ``[tool.streamcassette.mask]`` table as TOML text (what ``MaskRules.to_config`` gives),
    to paste into pyproject.toml or to pass to ``--rules``."""
    lines = ["[tool.streamcassette.mask]"]
    for key, value in mask.items():
        if isinstance(value, list):
            lines.append(f"{key} = [")
            lines += [f"    {_toml_value(item)}," for item in value]
            lines.append("]")
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        # JSON escapes are TOML escapes, but for DEL, which TOML wants escaped too.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    msg = f"cannot write {value!r} as TOML"
    raise TypeError(msg)
