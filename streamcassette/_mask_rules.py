"""Masking rules: what counts as volatile in a stream, as small immutable values.

Rules are small immutable values (structlog-style) gathered in :class:`MaskRules`:

- :class:`KeyRule` masks the value of every dict entry with a given name;
- :class:`PathRule` masks the value at a JSON-path glob (``agent.messages[*].id``, ``**.created``);
- :class:`PatternRule` masks every match of a regex in strings, dict keys and event names;
- :class:`HeaderRule` masks a response header's whole value (other headers go through patterns);
- :class:`SseIdRule` masks a frame's SSE ``id:`` field that matches a regex as a whole.

:meth:`MaskRules.default` is the table of the volatile values LangGraph API servers put in their
streams (ids by shape, timestamps, the request's start time); :meth:`MaskRules.from_config` and
:meth:`MaskRules.to_config` are the rules' ``[tool.streamcassette.mask]`` TOML form. What the
rules do to a stream is ``_alias`` (the engine) and ``_masked`` (masked streams).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from .protocols import threads

__all__ = [
    "EVENT_ID_PATTERN",
    "INTERRUPT_ID_MATCH",
    "ORDINAL_ID_MATCH",
    "TIMESTAMP_PATTERN",
    "TOOL_CALL_BODY",
    "TOOL_CALL_ID_KEYS",
    "TOOL_CALL_ID_MATCH",
    "TOOL_CALL_PATTERN",
    "UUID_PATTERN",
    "HeaderRule",
    "KeyRule",
    "MaskRules",
    "PathRule",
    "PatternRule",
    "Rule",
    "SseIdRule",
]

# --- the rules -------------------------------------------------------------------------------

_KIND = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")


def _check_kind(kind: str, rule: str) -> None:
    if not _KIND.match(kind):
        msg = (
            f"{rule}: kind {kind!r} is not a placeholder name; use letters, digits, '_', '.' "
            "or '-', starting with a letter or '_' (e.g. 'completion_id')"
        )
        raise ValueError(msg)


def _kind_from_name(name: str, fallback: str) -> str:
    """A placeholder kind from a key or header name: ``__request_time__`` -> ``request_time``."""
    kind = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.-")
    if not kind or not (kind[0].isalpha() or kind[0] == "_"):
        return fallback
    return kind


def _compile_regex(pattern: str, what: str) -> re.Pattern[str]:
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        msg = f"{what}: {pattern!r} is not a valid regular expression ({exc}); fix the pattern"
        raise ValueError(msg) from None
    return compiled


@dataclass(frozen=True)
class KeyRule:
    """Mask the value of every dict entry named ``key``, wherever it is.

    A ``key`` ending in ``*`` names every key starting with what precedes it (``x-*``: the
    client's ``x-request-id`` and other ``x-`` headers). Strings and numbers are masked, and
    so are objects and lists (whole); ``null`` and booleans are left alone. With ``match``,
    only string or number values that fully match that regex are masked (the built-in
    interrupt rule masks ``id`` values that look like 32 hex digits).
    """

    key: str
    kind: str = ""
    numbered: bool = True
    match: str | None = None

    def __post_init__(self) -> None:
        if not self.key:
            msg = "key rule: the key name is empty; give the name of the JSON key to mask"
            raise ValueError(msg)
        if self.key == "*" or "*" in self.key[:-1]:
            msg = (
                f"key rule {self.key!r}: '*' may only end a key name, after a prefix "
                "(x-* masks every key starting with x-)"
            )
            raise ValueError(msg)
        if not self.kind:
            object.__setattr__(self, "kind", _kind_from_name(self.key, "value"))
        _check_kind(self.kind, f"key rule {self.key!r}")
        if self.match is not None:
            _compile_regex(self.match, f"key rule {self.key!r} match")


@dataclass(frozen=True)
class PathRule:
    """Mask the value at every path matching a glob over the frame's JSON data.

    Paths are written as in diff reports: ``agent.messages[0].tool_calls[0].id``. In a glob,
    ``*`` is any one key (or part of one: ``*_at``), ``[*]`` any list index and ``**`` any
    number of keys and indices: ``**.response_metadata.created``. A key with dots or brackets is
    written quoted: ``config["a.b"]``. Keys are matched after the other rules have masked them
    (``checkpoint_map["node_2:<uuid>"]``, unnumbered).
    """

    path: str
    kind: str = ""
    numbered: bool = True

    def __post_init__(self) -> None:
        segments = _parse_glob(self.path)
        if not self.kind:
            names = [s[1] for s in segments if s[0] == "key" and isinstance(s[1], str)]
            object.__setattr__(self, "kind", _kind_from_name(names[-1] if names else "", "value"))
        _check_kind(self.kind, f"path rule {self.path!r}")


@dataclass(frozen=True)
class PatternRule:
    """Mask every match of a regex in strings, dict keys, event names and header values."""

    pattern: str
    kind: str = "masked"
    numbered: bool = True

    def __post_init__(self) -> None:
        compiled = _compile_regex(self.pattern, "pattern rule")
        if compiled.fullmatch(""):
            msg = (
                f"pattern rule {self.pattern!r} matches the empty string, so it would mask "
                "between every character; make it match at least one character"
            )
            raise ValueError(msg)
        _check_kind(self.kind, f"pattern rule {self.pattern!r}")


@dataclass(frozen=True)
class HeaderRule:
    """Mask a response header's whole value (matched case-insensitively by name)."""

    name: str
    kind: str = ""
    numbered: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", self.name.lower())
        if not self.name:
            msg = "header rule: the header name is empty"
            raise ValueError(msg)
        if not self.kind:
            object.__setattr__(self, "kind", _kind_from_name(self.name, "header"))
        _check_kind(self.kind, f"header rule {self.name!r}")


@dataclass(frozen=True)
class SseIdRule:
    """Mask a frame's SSE ``id:`` field when the whole id matches ``pattern``.

    The JavaScript server numbers every frame of a run (``id: 0``, ``1``, ...): aliased, a
    shift of those numbers (one more token earlier on) is not a difference.
    """

    pattern: str
    kind: str = "sse_id"
    numbered: bool = True

    def __post_init__(self) -> None:
        compiled = _compile_regex(self.pattern, "SSE id rule")
        if compiled.fullmatch(""):
            msg = f"SSE id rule {self.pattern!r} matches an empty id; make it match an id"
            raise ValueError(msg)
        _check_kind(self.kind, f"SSE id rule {self.pattern!r}")


Rule = KeyRule | PathRule | PatternRule | HeaderRule | SseIdRule

# The built-in patterns. Each is documented here as a plain regex (what it means); the
# compiler runs equivalent literal-anchored forms of them over raw JSON text (``_DashPass``,
# ``_LiteralPass``).
_HEX = "[0-9A-Fa-f]"
UUID_PATTERN = (
    rf"(?<![0-9A-Fa-f]){_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(?![0-9A-Fa-f])"
)
TIMESTAMP_PATTERN = (
    r"(?<![0-9])[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?(?![0-9])"
)
EVENT_ID_PATTERN = r"(?<![0-9])[0-9]{13}-[0-9]+(?![0-9])"
# Tool-call ids as providers mint them: OpenAI ``call_`` + 24 alphanumerics, Anthropic
# ``toolu_`` + 24 base62 (``toolu_vrtx_``/``toolu_bdrk_`` through Vertex and Bedrock), with or
# without a digit (about 1.5 % of random 24-character ids have none); shorter ids (other
# providers, test doubles) count when they carry a digit, so ``call_function`` stays a name.
TOOL_CALL_BODY = r"(?:[A-Za-z0-9]{24,}|(?=[A-Za-z]*[0-9])[A-Za-z0-9]{8,})"
TOOL_CALL_PATTERN = (
    rf"(?<![A-Za-z0-9_])(?:call_|toolu_(?:vrtx_|bdrk_)?){TOOL_CALL_BODY}(?![A-Za-z0-9_])"
)
# Where a value stands in an id position (the whole value of one of these keys: a tool call's
# ``id``, a tool message's ``tool_call_id``, a Responses API ``call_id``), the same rule takes
# every ``call_``/``toolu_`` id shape, however short and with or without a digit
# (``call_abc123``, ``call_abcdefghijklmnop``): there it cannot be a name.
TOOL_CALL_ID_KEYS = ("id", "tool_call_id", "call_id")
TOOL_CALL_ID_MATCH = r"(?:call_|toolu_(?:vrtx_|bdrk_)?)[A-Za-z0-9]+"
# The JavaScript server's SSE ids: the frame's position in the run's stream (0, 1, 2, ...).
ORDINAL_ID_MATCH = r"[0-9]+"
INTERRUPT_ID_MATCH = r"(?=[0-9]*[a-f])[0-9a-f]{32}"

# The v3 thread protocol (see protocols.threads): event counters, aliased so one more event
# earlier on shifts them without drift; event ids and stamps, which link nothing. (Command
# ids are in command bodies and replies, never in events: serve echoes them.) Keys by these
# names in a runs stream are the graph's own (a state's ``seq``): they apply to v3 streams.
THREAD_STREAM_RULES: tuple[Rule, ...] = (
    *(KeyRule(key, kind, numbered=kind == "seq") for key, kind in threads.VOLATILE_KEYS.items()),
    KeyRule(threads.TIMESTAMP_KEY, "epoch_ms", numbered=False, match=threads.TIMESTAMP_MATCH),
)
_DEFAULT_RULES: tuple[Rule, ...] = (
    # Ids of every UUID version, and hash-shaped 8-4-4-4-12 ids (task ids) whose version digit
    # is random; also inside strings: lc_run--<uuid>-0, run-<uuid>, node:<task_id>,
    # updates|node_2:<task_id>, Location paths.
    PatternRule(UUID_PATTERN, "uuid"),
    # OpenAI-style and Anthropic tool-call ids (any shape where the value is an id:
    # TOOL_CALL_ID_KEYS).
    PatternRule(TOOL_CALL_PATTERN, "tool_call"),
    # ISO-8601 timestamps (debug events, created_at); all mask to one placeholder.
    PatternRule(TIMESTAMP_PATTERN, "timestamp", numbered=False),
    # Resumable streams' SSE ids, <epoch_ms>-<sequence> (Python server): the server gives
    # frames sent in the same millisecond the same id, so they carry no link and mask to one
    # placeholder.
    PatternRule(EVENT_ID_PATTERN, "event_id", numbered=False),
    # The JavaScript server's SSE ids (0, 1, 2, ... on every frame): ordinals, aliased, so a
    # frame more or less earlier in the stream (one more token) shifts them without drift.
    SseIdRule(ORDINAL_ID_MATCH, "sse_id"),
    # The request's start time, in epoch milliseconds, in every config.
    KeyRule("__request_start_time_ms__", "epoch_ms", numbered=False),
    # The server's own URL, whose port changes with every server start.
    KeyRule("langgraph_api_url", "api_url", numbered=False),
    # The client's user-agent and ``x-*`` request headers (x-request-id, ...), which the
    # JavaScript server copies into every run's ``configurable`` (debug and checkpoint
    # payloads): they name the client and the request, not behaviour.
    KeyRule("user-agent", "client", numbered=False),
    KeyRule("x-*", "client", numbered=False),
    # Interrupt ids: a hash of the checkpoint namespace, so of a task id.
    KeyRule("id", "interrupt", match=INTERRUPT_ID_MATCH),
    KeyRule("interrupt_id", "interrupt", match=INTERRUPT_ID_MATCH),
    # Location and Content-Location go through the patterns, keeping their thread and run
    # ids linked to the stream's; the date has no link to keep.
    HeaderRule("date", "date", numbered=False),
    *THREAD_STREAM_RULES,
)


def _identity(rule: Rule) -> tuple[str, str]:
    """What a rule applies to: a later rule with the same identity replaces it."""
    if isinstance(rule, KeyRule):
        return ("key", rule.key)
    if isinstance(rule, PathRule):
        return ("path", rule.path)
    if isinstance(rule, PatternRule):
        return ("pattern", rule.pattern)
    if isinstance(rule, SseIdRule):
        return ("sse_id", rule.pattern)
    return ("header", rule.name)


RuleSpec = Iterable[str | Rule] | Mapping[str, str]


@dataclass(frozen=True)
class MaskRules:
    """An immutable set of masking rules. Start from :meth:`default` and :meth:`extend` it.

    A rule given to :meth:`extend` for the same key, path, pattern or header as an existing one
    replaces it; :meth:`without` drops every rule of some kinds.
    """

    rules: tuple[Rule, ...] = ()

    @classmethod
    def default(cls) -> MaskRules:
        """The rules covering every volatile value a LangGraph API server puts in a stream."""
        return _DEFAULT

    @property
    def keys(self) -> tuple[KeyRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, KeyRule))

    @property
    def paths(self) -> tuple[PathRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, PathRule))

    @property
    def patterns(self) -> tuple[PatternRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, PatternRule))

    @property
    def headers(self) -> tuple[HeaderRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, HeaderRule))

    @property
    def sse_ids(self) -> tuple[SseIdRule, ...]:
        return tuple(r for r in self.rules if isinstance(r, SseIdRule))

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(r.kind for r in self.rules)

    def extend(
        self,
        *,
        keys: RuleSpec = (),
        paths: RuleSpec = (),
        patterns: RuleSpec = (),
        headers: RuleSpec = (),
        sse_ids: RuleSpec = (),
    ) -> MaskRules:
        """These rules plus more. Each argument takes names (default kinds), rule objects, or a
        mapping of name to kind: ``extend(keys={"created": "timestamp"}, paths=["**.id"])``."""
        added: list[Rule] = []
        added += _rules_from(keys, KeyRule, "keys")
        added += _rules_from(paths, PathRule, "paths")
        added += _rules_from(patterns, PatternRule, "patterns")
        added += _rules_from(headers, HeaderRule, "headers")
        added += _rules_from(sse_ids, SseIdRule, "sse_ids")
        return self.with_rules(added)

    def with_rules(self, added: Iterable[Rule]) -> MaskRules:
        """These rules plus rule objects; a rule replaces an existing one with the same target."""
        result = {_identity(rule): rule for rule in self.rules}
        for rule in added:
            result.pop(_identity(rule), None)  # a replacement goes last, like a new rule
            result[_identity(rule)] = rule
        return MaskRules(tuple(result.values()))

    def without(self, *kinds: str) -> MaskRules:
        """These rules minus every rule of the given kinds (e.g. ``without("tool_call")``)."""
        return MaskRules(tuple(r for r in self.rules if r.kind not in kinds))

    def for_runs_streams(self) -> MaskRules:
        """These rules minus the built-in ones of the v3 thread protocol (``seq``, ``since``,
        ``event_id``, events' ``timestamp``): in a runs stream keys by those names are the
        graph's (a state's ``seq`` counter), and masking them would hide its drift. A user's
        rule for such a key stays, unless it is the built-in one."""
        return MaskRules(tuple(r for r in self.rules if r not in THREAD_STREAM_RULES))

    # -- configuration ---------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MaskRules:
        """Rules from a ``[tool.streamcassette.mask]`` table.

        Keys: ``defaults`` (bool, start from the built-in rules; default true), ``disable``
        (kinds of built-in rules to drop), ``keys``, ``paths``, ``patterns``, ``headers``,
        ``sse_ids`` (lists
        of strings or of tables like ``{key = "created", kind = "timestamp", numbered = false}``).
        Raises ``ValueError`` naming the offending entry.
        """
        unknown = sorted(set(config) - _CONFIG_KEYS)
        if unknown:
            known = ", ".join(sorted(_CONFIG_KEYS))
            msg = f"unknown mask setting {unknown[0]!r}; known settings: {known}"
            raise ValueError(msg)
        defaults = config.get("defaults", True)
        if not isinstance(defaults, bool):
            msg = f"mask.defaults must be true or false, not {defaults!r}"
            raise ValueError(msg)
        disable = config.get("disable", [])
        if not isinstance(disable, list) or not all(isinstance(k, str) for k in disable):
            msg = f"mask.disable must be a list of rule kinds (e.g. ['tool_call']), not {disable!r}"
            raise ValueError(msg)
        rules = cls.default() if defaults else cls()
        unknown_kinds = sorted(set(disable) - cls.default().kinds)
        if unknown_kinds and defaults:
            known = ", ".join(sorted(cls.default().kinds))
            msg = f"mask.disable: no built-in rule has kind {unknown_kinds[0]!r}; kinds: {known}"
            raise ValueError(msg)
        rules = rules.without(*disable)
        added: list[Rule] = []
        for name, rule_type, field_name in _CONFIG_LISTS:
            entries = config.get(name, [])
            if not isinstance(entries, list):
                msg = f"mask.{name} must be a list, not {entries!r}"
                raise ValueError(msg)
            for position, entry in enumerate(entries):
                added.append(_rule_from_config(entry, rule_type, field_name, f"{name}[{position}]"))
        return rules.with_rules(added)

    def to_config(self) -> dict[str, Any]:
        """The ``[tool.streamcassette.mask]`` table that :meth:`from_config` turns back into
        these rules: changes relative to the built-in rules, or everything with
        ``defaults = false`` when none of them is kept."""
        defaults = self.default().rules
        present = set(self.rules)
        config: dict[str, Any] = {}
        if not any(rule in present for rule in defaults):
            config["defaults"] = False
            extra = list(self.rules)
        else:
            removed = sorted({rule.kind for rule in defaults if rule not in present})
            if removed:
                config["disable"] = removed
            default_set = set(defaults)
            extra = [r for r in self.rules if r not in default_set or r.kind in removed]
        for name, rule_type, field_name in _CONFIG_LISTS:
            entries = [_rule_to_config(r, field_name) for r in extra if isinstance(r, rule_type)]
            if entries:
                config[name] = entries
        return config


_DEFAULT = MaskRules(_DEFAULT_RULES)

_CONFIG_LISTS: tuple[tuple[str, type[Any], str], ...] = (
    ("keys", KeyRule, "key"),
    ("paths", PathRule, "path"),
    ("patterns", PatternRule, "pattern"),
    ("headers", HeaderRule, "name"),
    ("sse_ids", SseIdRule, "pattern"),
)
_CONFIG_KEYS = frozenset({"defaults", "disable", *(name for name, _, _ in _CONFIG_LISTS)})


def _rules_from(spec: RuleSpec, rule_type: type[Any], argument: str) -> list[Rule]:
    if isinstance(spec, str):
        msg = f"{argument} takes a list of rules, not the string {spec!r}; write [{spec!r}]"
        raise TypeError(msg)
    if isinstance(spec, Mapping):
        return [rule_type(name, kind) for name, kind in spec.items()]
    rules: list[Rule] = []
    for item in spec:
        if isinstance(item, str):
            rules.append(rule_type(item))
        elif isinstance(item, rule_type):
            rules.append(item)
        else:
            msg = f"{argument} takes names or {rule_type.__name__} objects, not {item!r}"
            raise TypeError(msg)
    return rules


def _rule_from_config(entry: Any, rule_type: type[Any], field_name: str, where: str) -> Rule:
    if isinstance(entry, str):
        rule: Rule = rule_type(entry)
        return rule
    if not isinstance(entry, Mapping):
        msg = f"mask.{where}: expected a string or a table, not {entry!r}"
        raise ValueError(msg)
    allowed = {field_name, "kind", "numbered"} | ({"match"} if rule_type is KeyRule else set())
    unknown = sorted(set(entry) - allowed)
    if unknown:
        msg = f"mask.{where}: unknown setting {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}"
        raise ValueError(msg)
    if field_name not in entry:
        msg = f"mask.{where}: missing {field_name!r} in {dict(entry)!r}"
        raise ValueError(msg)
    for name, expected in ((field_name, str), ("kind", str), ("numbered", bool), ("match", str)):
        if name in entry and not isinstance(entry[name], expected):
            msg = f"mask.{where}.{name} must be a {expected.__name__}, not {entry[name]!r}"
            raise ValueError(msg)
    kwargs = {name: entry[name] for name in ("kind", "numbered", "match") if name in entry}
    rule = rule_type(entry[field_name], **kwargs)
    return rule


def _rule_to_config(rule: Rule, field_name: str) -> str | dict[str, Any]:
    target: str = getattr(rule, field_name)
    plain = type(rule)(target)
    if plain == rule:
        return target
    entry: dict[str, Any] = {field_name: target, "kind": rule.kind}
    if not rule.numbered:
        entry["numbered"] = False
    if isinstance(rule, KeyRule) and rule.match is not None:
        entry["match"] = rule.match
    return entry


# --- path globs ------------------------------------------------------------------------------

# A glob segment: ("key", name) | ("keyglob", pattern) | ("anykey", None) | ("index", n)
# | ("anyindex", None) | ("deep", None)
_Segment = tuple[str, str | int | None]
_GLOB_NAME = re.compile(r"[^.\[\]]+")
_GLOB_BRACKET = re.compile(r'\[(?:(\*)|([0-9]+)|("(?:[^"\\]|\\.)*"))\]')


def _parse_glob(glob: str) -> tuple[_Segment, ...]:
    segments: list[_Segment] = []
    position = 0
    while position < len(glob):
        bracket = _GLOB_BRACKET.match(glob, position)
        if bracket:
            star, index, quoted = bracket.groups()
            if star:
                segments.append(("anyindex", None))
            elif index is not None:
                segments.append(("index", int(index)))
            else:
                segments.append(("key", orjson.loads(quoted)))
            position = bracket.end()
            continue
        if segments or glob[position] == ".":
            if glob[position] != ".":
                break
            position += 1
        name = _GLOB_NAME.match(glob, position)
        if not name:
            break
        text = name.group()
        if text == "**":
            segments.append(("deep", None))
        elif text == "*":
            segments.append(("anykey", None))
        elif "*" in text or "?" in text:
            segments.append(("keyglob", text))
        else:
            segments.append(("key", text))
        position = name.end()
    if position != len(glob) or not segments or all(s[0] == "deep" for s in segments):
        msg = (
            f"path rule {glob!r}: cannot read this glob at character {position + 1}; write keys "
            "separated by dots and list indices in brackets: agent.messages[*].id, **.created, "
            'config["a.b"]'
        )
        raise ValueError(msg)
    return tuple(segments)
