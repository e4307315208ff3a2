"""Per-test cassette settings, merged from their layers.

Layers, lowest precedence first: built-in defaults, ``[tool.streamcassette]`` in
pyproject.toml, the ``stream_cassette_config`` fixture, ``@pytest.mark.stream_cassette``
(markers on classes/modules below markers on the test itself). Command-line options
(mode and server) are above them all. Scalar settings take the highest layer that sets
them; ``mask``, ``redact``, ``redact_keys``, ``redact_paths``, ``allow_hosts`` and ``urls``
add up over all layers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

from streamcassette import DEFAULT_MATCH_ON, RepeatPolicy
from streamcassette._diff import KNOWN_MODES
from streamcassette._mask_rules import MaskRules
from streamcassette._redact import Redactor

__all__ = ["KNOWN_KEYS", "Settings", "build_mask_rules", "merge_layers"]

Policy = Literal["exact", "structure"]
POLICIES: tuple[Policy, ...] = ("exact", "structure")

_SCALARS = (
    "modes",
    "policy",
    "match_on",
    "repeats",
    "speed",
    "allow_unmatched",
    "attach",
    "alias_ids",
    "require_all_played",
    "before_record_request",
    "before_record_response",
)
_NAME_LISTS = ("redact", "redact_keys", "redact_paths", "allow_hosts", "urls")
_ADDITIVE = ("mask", *_NAME_LISTS)
KNOWN_KEYS = frozenset((*_SCALARS, *_ADDITIVE))


@dataclass(frozen=True)
class Settings:
    """Everything that shapes one test's cassette besides its path and the mode."""

    # Stream modes (SSE event types, v3 channels) that drift runs compare; None: the
    # protocol's default (``updates``; for v3 thread sessions ``threads.DIFF_MODES``).
    modes: tuple[str, ...] | None = None
    # "exact": values must match after masking; "structure": only shapes and keys must.
    policy: Policy = "exact"
    # Mask rule layers, lowest first: dicts (keys/paths/patterns) or MaskRules objects.
    mask: tuple[Any, ...] = ()
    match_on: tuple[Any, ...] = DEFAULT_MATCH_ON
    repeats: RepeatPolicy = "error"
    speed: float | None = None
    redact: tuple[str, ...] = ()  # more header / query parameter names to redact
    redact_keys: tuple[str, ...] = ()  # more JSON keys to redact in bodies and frames
    redact_paths: tuple[str, ...] = ()  # JSON-path globs to redact in bodies and frames
    # Called with each recorded request / response before saving (see streamcassette._redact).
    before_record_request: Callable[[Any], Any] | None = None
    before_record_response: Callable[[Any], Any] | None = None
    # Do not fail a passing test whose code swallowed an unmatched replay request.
    allow_unmatched: bool = False
    # Where a recording's frames go: a .sse file beside the cassette (True), inside the
    # cassette (False), or by their size (None, "auto": attached from ATTACH_FROM bytes).
    attach: bool | None = None
    # Bind ids the client mints to the recorded ones (see streamcassette._bind).
    alias_ids: bool = True
    # Fail a replayed test that left recorded interactions unasked.
    require_all_played: bool = False
    # Hosts a replayed test may still reach (replay is sealed otherwise).
    allow_hosts: tuple[str, ...] = ()
    # Further URLs that are the LangGraph server's (for plain httpx clients).
    urls: tuple[str, ...] = ()


def _as_tuple(value: Any, key: str, source: str) -> tuple[Any, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Iterable):
        return tuple(value)
    msg = f"{source}: {key} must be a string or a list of them; got {value!r}"
    raise TypeError(msg)


def _check(key: str, value: Any, source: str) -> Any:
    if key == "modes":
        modes = _as_tuple(value, key, source)
        if not modes or not all(isinstance(mode, str) for mode in modes):
            msg = f"{source}: modes must name at least one event type; got {value!r}"
            raise ValueError(msg)
        for mode in modes:
            if mode not in KNOWN_MODES and not any(char in mode for char in "*?[|"):
                msg = (
                    f"{source}: unknown stream mode {mode!r}; known modes: "
                    f"{', '.join(KNOWN_MODES)} (or an event-name glob such as 'updates|node_2:*')"
                )
                raise ValueError(msg)
        return modes
    if key == "policy":
        if value not in POLICIES:
            msg = f"{source}: policy must be one of {', '.join(POLICIES)}; got {value!r}"
            raise ValueError(msg)
        return value
    if key == "repeats":
        if value not in ("error", "last"):
            msg = f"{source}: repeats must be 'error' or 'last'; got {value!r}"
            raise ValueError(msg)
        return value
    if key == "speed":
        if value is not None and (not isinstance(value, (int, float)) or value <= 0):
            msg = f"{source}: speed must be a positive number or None; got {value!r}"
            raise ValueError(msg)
        return None if value is None else float(value)
    if key in ("allow_unmatched", "alias_ids", "require_all_played"):
        if not isinstance(value, bool):
            msg = f"{source}: {key} must be true or false; got {value!r}"
            raise ValueError(msg)
        return value
    if key == "attach":
        if value is None or value == "auto":
            return None
        if not isinstance(value, bool):
            msg = f"{source}: attach must be True, False, None or 'auto'; got {value!r}"
            raise ValueError(msg)
        return value
    if key in ("before_record_request", "before_record_response"):
        if value is not None and not callable(value):
            msg = f"{source}: {key} must be a callable or None; got {value!r}"
            raise TypeError(msg)
        return value
    if key in _NAME_LISTS:
        names = _as_tuple(value, key, source)
        if not all(isinstance(name, str) and name for name in names):
            msg = f"{source}: {key} must be a list of non-empty strings; got {value!r}"
            raise TypeError(msg)
        if key == "redact_paths":
            _check_paths(names, source)
        return names
    if key == "match_on":
        return _as_tuple(value, key, source)
    if key == "mask":
        try:
            _apply_mask_layer(MaskRules.default(), value)
        except (TypeError, ValueError) as error:
            msg = f"{source}: {error}"
            raise type(error)(msg) from None
    return value


def merge_layers(
    layers: Iterable[tuple[str, Mapping[str, Any]]], *, strict: Iterable[str] = ()
) -> Settings:
    """Merge ``(source, values)`` layers, lowest precedence first, into :class:`Settings`.

    Sources named in ``strict`` must not carry unknown keys (a typo in a marker should
    fail loudly); other sources, like ``[tool.streamcassette]`` which the command line
    shares, may hold keys meant for someone else.
    """
    strict_sources = set(strict)
    scalars: dict[str, Any] = {}
    masks: list[Any] = []
    names: dict[str, list[str]] = {key: [] for key in _NAME_LISTS}
    for source, values in layers:
        unknown = sorted(set(values) - KNOWN_KEYS)
        if unknown and source in strict_sources:
            msg = (
                f"{source}: unknown setting(s) {', '.join(map(repr, unknown))}; known "
                f"settings: {', '.join(sorted(KNOWN_KEYS))}"
            )
            raise TypeError(msg)
        for key, value in values.items():
            if key not in KNOWN_KEYS:
                continue
            checked = _check(key, value, source)
            if key == "mask":
                if checked is not None:
                    masks.append(checked)
            elif key in names:
                names[key].extend(checked)
            else:
                scalars[key] = checked
    return Settings(
        modes=cast("tuple[str, ...] | None", scalars.get("modes")),
        policy=cast("Policy", scalars.get("policy", "exact")),
        mask=tuple(masks),
        match_on=cast("tuple[Any, ...]", scalars.get("match_on", DEFAULT_MATCH_ON)),
        repeats=cast("RepeatPolicy", scalars.get("repeats", "error")),
        speed=cast("float | None", scalars.get("speed")),
        redact=tuple(dict.fromkeys(names["redact"])),
        redact_keys=tuple(dict.fromkeys(names["redact_keys"])),
        redact_paths=tuple(dict.fromkeys(names["redact_paths"])),
        before_record_request=scalars.get("before_record_request"),
        before_record_response=scalars.get("before_record_response"),
        allow_unmatched=bool(scalars.get("allow_unmatched", False)),
        attach=cast("bool | None", scalars.get("attach")),
        alias_ids=bool(scalars.get("alias_ids", True)),
        require_all_played=bool(scalars.get("require_all_played", False)),
        allow_hosts=tuple(dict.fromkeys(names["allow_hosts"])),
        urls=tuple(dict.fromkeys(names["urls"])),
    )


def _check_paths(paths: tuple[str, ...], source: str) -> None:
    try:
        Redactor(paths=paths)
    except ValueError as error:
        msg = f"{source}: redact_paths: {error}"
        raise ValueError(msg) from None


def _apply_mask_layer(rules: MaskRules, layer: Any) -> MaskRules:
    if isinstance(layer, MaskRules):
        return layer  # a complete rule set, built by the caller
    if not isinstance(layer, Mapping):
        msg = (
            "mask must be a MaskRules or a table like [tool.streamcassette.mask] "
            f"(keys, paths, patterns, headers, disable, defaults); got {layer!r}"
        )
        raise TypeError(msg)
    complete = MaskRules.from_config(layer)  # validates, with messages naming the entry
    if layer.get("defaults", True) is False:
        return complete
    added = MaskRules.from_config({**layer, "defaults": False, "disable": []})
    return rules.without(*layer.get("disable", ())).with_rules(added.rules)


def build_mask_rules(settings: Settings) -> MaskRules:
    """``MaskRules.default()`` changed by every ``mask`` layer, lowest first.

    A table adds rules (and drops the built-in kinds named in ``disable``); a table with
    ``defaults = false`` or a ``MaskRules`` object replaces everything below it.
    """
    rules = MaskRules.default()
    for layer in settings.mask:
        rules = _apply_mask_layer(rules, layer)
    return rules
