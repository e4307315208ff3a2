"""Masking: volatile values replaced by placeholders, aliased consistently within a stream.

Two runs of the same request differ in run, thread, checkpoint, task and message ids, tool-call
ids, timestamps and the like. Masking replaces each such value with a placeholder named by its
kind and numbered in order of first appearance in the stream (``<uuid:1>``, ``<tool_call:2>``):
the same original value gets the same placeholder everywhere in the stream, so the links between
frames survive (an AI message's tool call and the tool message's ``tool_call_id``) and a broken
link shows up as a difference. Some kinds (timestamps) mask to one unnumbered placeholder.

Rules are small immutable values (structlog-style) gathered in :class:`MaskRules`:

- :class:`KeyRule` masks the value of every dict entry with a given name;
- :class:`PathRule` masks the value at a JSON-path glob (``agent.messages[*].id``, ``**.created``);
- :class:`PatternRule` masks every match of a regex in strings, dict keys and event names;
- :class:`HeaderRule` masks a response header's whole value (other headers go through patterns).

Masking never happens at record time (later requests reuse the recorded ids); it is applied when
streams are matched, compared and shown.

Speed: masking is the hot path of ``diff``. The built-in rules run over the raw JSON text of a
frame, each as one regex with a literal prefix that a C-level substring test guards, and each
distinct value is replaced with ``str.replace``; JSON is parsed only for path rules, user regexes
and key rules whose value is an object or a list (then every rule is applied value by value, in
document order). Inside a frame, masked values are held as frame-local references
(``\\ue000<n>\\ue001``) to the values they stand for: the diff compares frames with those,
whatever the numbering (see ``_diff``), and numbers are given only when a stream is shown. A
stream's events are kept column by column (``_FrameTable``), not as one object each.
"""

from __future__ import annotations

import functools
import re
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import orjson

from ._cassette import Cassette, Interaction, RecordedFrame, StreamEnd
from ._gc import paused_gc
from ._sse import event_fields

__all__ = [
    "HeaderRule",
    "KeyRule",
    "MaskRules",
    "MaskedFrame",
    "MaskedStream",
    "Masker",
    "PathRule",
    "PatternRule",
    "mask_cassette",
    "mask_stream",
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

    Strings and numbers are masked, and so are objects and lists (whole); ``null`` and booleans
    are left alone. With ``match``, only string or number values that fully match that regex are
    masked (the built-in interrupt rule masks ``id`` values that look like 32 hex digits).
    """

    key: str
    kind: str = ""
    numbered: bool = True
    match: str | None = None

    def __post_init__(self) -> None:
        if not self.key:
            msg = "key rule: the key name is empty; give the name of the JSON key to mask"
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


Rule = KeyRule | PathRule | PatternRule | HeaderRule

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
TOOL_CALL_PATTERN = (
    r"(?<![A-Za-z0-9_])(?:call|toolu)_(?=[A-Za-z]*[0-9])[A-Za-z0-9]{8,}(?![A-Za-z0-9_])"
)
INTERRUPT_ID_MATCH = r"(?=[0-9]*[a-f])[0-9a-f]{32}"

_DEFAULT_RULES: tuple[Rule, ...] = (
    # Ids of every UUID version, and hash-shaped 8-4-4-4-12 ids (task ids) whose version digit
    # is random; also inside strings: lc_run--<uuid>-0, run-<uuid>, node:<task_id>,
    # updates|node_2:<task_id>, Location paths.
    PatternRule(UUID_PATTERN, "uuid"),
    # OpenAI-style and Anthropic tool-call ids.
    PatternRule(TOOL_CALL_PATTERN, "tool_call"),
    # ISO-8601 timestamps (debug events, created_at); all mask to one placeholder.
    PatternRule(TIMESTAMP_PATTERN, "timestamp", numbered=False),
    # Resumable streams' SSE ids, <epoch_ms>-<sequence>: the server gives frames sent in the
    # same millisecond the same id, so they carry no link and mask to one placeholder.
    PatternRule(EVENT_ID_PATTERN, "event_id", numbered=False),
    # The request's start time, in epoch milliseconds, in every config.
    KeyRule("__request_start_time_ms__", "epoch_ms", numbered=False),
    # The server's own URL, whose port changes with every server start.
    KeyRule("langgraph_api_url", "api_url", numbered=False),
    # Interrupt ids: a hash of the checkpoint namespace, so of a task id.
    KeyRule("id", "interrupt", match=INTERRUPT_ID_MATCH),
    KeyRule("interrupt_id", "interrupt", match=INTERRUPT_ID_MATCH),
    # Location and Content-Location go through the patterns, keeping their thread and run
    # ids linked to the stream's; the date has no link to keep.
    HeaderRule("date", "date", numbered=False),
)


def _identity(rule: Rule) -> tuple[str, str]:
    """What a rule applies to: a later rule with the same identity replaces it."""
    if isinstance(rule, KeyRule):
        return ("key", rule.key)
    if isinstance(rule, PathRule):
        return ("path", rule.path)
    if isinstance(rule, PatternRule):
        return ("pattern", rule.pattern)
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
    def kinds(self) -> frozenset[str]:
        return frozenset(r.kind for r in self.rules)

    def extend(
        self,
        *,
        keys: RuleSpec = (),
        paths: RuleSpec = (),
        patterns: RuleSpec = (),
        headers: RuleSpec = (),
    ) -> MaskRules:
        """These rules plus more. Each argument takes names (default kinds), rule objects, or a
        mapping of name to kind: ``extend(keys={"created": "timestamp"}, paths=["**.id"])``."""
        added: list[Rule] = []
        added += _rules_from(keys, KeyRule, "keys")
        added += _rules_from(paths, PathRule, "paths")
        added += _rules_from(patterns, PatternRule, "patterns")
        added += _rules_from(headers, HeaderRule, "headers")
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

    # -- configuration ---------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MaskRules:
        """Rules from a ``[tool.streamcassette.mask]`` table.

        Keys: ``defaults`` (bool, start from the built-in rules; default true), ``disable``
        (kinds of built-in rules to drop), ``keys``, ``paths``, ``patterns``, ``headers`` (lists
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


_PathState = frozenset[tuple[int, int]]


class _PathMatcher:
    """All path globs as one NFA, stepped segment by segment while walking the JSON."""

    def __init__(self, rules: Sequence[PathRule]) -> None:
        self.rules = list(rules)
        self.globs = [_parse_glob(rule.path) for rule in rules]
        self.index_specific = any(s[0] == "index" for g in self.globs for s in g)
        self.start = self._closure({(number, 0) for number in range(len(self.globs))})
        self._memo: dict[tuple[_PathState, Any], tuple[_PathState | None, PathRule | None]] = {}

    def _closure(self, states: set[tuple[int, int]]) -> _PathState:
        pending = list(states)
        while pending:
            rule, position = pending.pop()
            glob = self.globs[rule]
            if position < len(glob) and glob[position][0] == "deep":
                following = (rule, position + 1)
                if following not in states:
                    states.add(following)
                    pending.append(following)
        return frozenset(states)

    def step(
        self, state: _PathState, segment: str | int
    ) -> tuple[_PathState | None, PathRule | None]:
        key: Any = segment
        if isinstance(segment, int) and not self.index_specific:
            key = -1  # every index behaves the same
        memo = self._memo.get((state, key))
        if memo is not None:
            return memo
        following: set[tuple[int, int]] = set()
        for rule, position in state:
            glob = self.globs[rule]
            if position >= len(glob):
                continue
            kind, value = glob[position]
            if kind == "deep":
                following.add((rule, position))
            elif isinstance(segment, str):
                if (
                    (kind == "key" and value == segment)
                    or kind == "anykey"
                    or (
                        kind == "keyglob" and isinstance(value, str) and fnmatchcase(segment, value)
                    )
                ):
                    following.add((rule, position + 1))
            elif kind == "anyindex" or (kind == "index" and value == segment):
                following.add((rule, position + 1))
        closed = self._closure(following)
        done = [rule for rule, position in closed if position == len(self.globs[rule])]
        hit = self.rules[min(done)] if done else None
        result = (closed or None, hit)
        self._memo[(state, key)] = result
        return result


# --- compiled rules --------------------------------------------------------------------------

_OPEN, _CLOSE = "\ue000", "\ue001"
_REF = re.compile("\ue000([0-9]+)\ue001")
_REFS = [f"{_OPEN}{n}{_CLOSE}" for n in range(256)]
Original = tuple[str, Any]  # (kind, the value as found)


_REF0 = _REFS[0]


def _ref(n: int) -> str:
    return _REFS[n] if n < 256 else f"{_OPEN}{n}{_CLOSE}"


class _Refs:
    """What masking one piece of text builds: frame-local references (``\\ue000<n>\\ue001``) to
    the distinct values they stand for, with their kinds, in the order they were met. Numbering
    them (``<uuid:3>``) is left for later, when a stream is shown: comparing needs none."""

    __slots__ = ("kinds", "local", "structural", "values")

    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.values: list[Any] = []
        self.local: dict[Original, str] | None = None  # once there are many values
        self.structural = False  # a key rule met an object or a list: parse this one

    def ref(self, kind: str, value: Any, numbered: bool) -> str:
        """The placeholder text for a value: a frame-local reference, or ``<kind>``."""
        if not numbered:
            return f"<{kind}>"
        values = self.values
        if not values:  # the first value of a frame
            values.append(value)
            self.kinds.append(kind)
            return _REF0
        local = self.local
        if local is None:
            if value not in values:
                if len(values) < 32:  # few values: a list search beats making a dict
                    values.append(value)
                    self.kinds.append(kind)
                    return _REFS[len(values) - 1]
            else:
                number = values.index(value)
                if self.kinds[number] == kind:
                    return _REFS[number]
            local = self.local = {
                (k, v): _ref(number)
                for number, (k, v) in enumerate(zip(self.kinds, values, strict=False))
            }
        found = local.get((kind, value))
        if found is None:
            found = local[(kind, value)] = _ref(len(values))
            values.append(value)
            self.kinds.append(kind)
        return found

    def truncate(self, length: int) -> None:
        """Forget the values met after the first ``length`` ones."""
        del self.kinds[length:]
        del self.values[length:]
        self.local = None

    def original_text(self, text: str) -> str:
        """References replaced by the values they stand for (a stable key for a whole value)."""
        if _OPEN not in text:
            return text
        values = self.values
        return _REF.sub(lambda m: str(values[int(m.group(1))]), text)

    def unnumbered(self, text: str) -> str:
        """References replaced by ``<kind>``: how path globs see masked keys."""
        if _OPEN not in text:
            return text
        kinds = self.kinds
        return _REF.sub(lambda m: f"<{kinds[int(m.group(1))]}>", text)


def _numbered(shape: str | None, tokens: Sequence[str]) -> str | None:
    """A masked text with its references replaced by numbered placeholders."""
    if shape is None or _OPEN not in shape:
        return shape
    return _REF.sub(lambda m: tokens[int(m.group(1))], shape)


def _reindex(
    shapes: Sequence[str | None], kinds: Sequence[str], values: Sequence[Any]
) -> tuple[list[str | None], list[str], list[Any]]:
    """References renumbered in order of appearance across ``shapes``, dropping the ones that
    are no longer there (a path rule masked the value around them)."""
    order: dict[int, str] = {}
    kept_kinds: list[str] = []
    kept_values: list[Any] = []

    def renumber(m: re.Match[str]) -> str:
        old = int(m.group(1))
        new = order.get(old)
        if new is None:
            new = order[old] = _ref(len(kept_values))
            kept_kinds.append(kinds[old])
            kept_values.append(values[old])
        return new

    renumbered = [_REF.sub(renumber, s) if s is not None else None for s in shapes]
    return renumbered, kept_kinds, kept_values


def _replace_all(text: str, replacements: Mapping[str, str]) -> str:
    if len(replacements) == 1:
        for value, placeholder in replacements.items():
            return text.replace(value, placeholder)
    for value in sorted(replacements, key=len, reverse=True):  # longer values first
        text = text.replace(value, replacements[value])
    return text


class _DashPass:
    """Built-in dash-shaped patterns (UUIDs, timestamps, SSE ids) as one regex that starts with
    a literal ``-`` (so the scan is a fast literal search); the fixed-width part before the
    first dash is captured by a lookbehind."""

    guard = "-"

    def __init__(self, specs: Sequence[tuple[PatternRule, str, str, str]]) -> None:
        alternatives = [
            f"(?<=(?<!{guard})({before})-)({after})" for _, guard, before, after in specs
        ]
        # The ones that start with digits share one cheap test first: four digits before the -.
        digits = [guard == "[0-9]" for _, guard, _, _ in specs]
        if sum(digits) > 1 and digits == sorted(digits):
            first = digits.index(True)
            shared = "(?<=[0-9]{4}-)(?:" + "|".join(alternatives[first:]) + ")"
            alternatives = [*alternatives[:first], shared]
        self.findall = re.compile("-(?:" + "|".join(alternatives) + ")").findall
        # per alternative: where its groups are in a match, and what it masks
        self.alternatives = [
            (2 * number, spec[0].kind, spec[0].numbered) for number, spec in enumerate(specs)
        ]

    def apply(self, text: str, refs: _Refs) -> str:
        found = self.findall(text)
        if not found:
            return text
        ref = refs.ref
        if len(found) == 1:  # the usual case: one id
            groups = found[0]
            for group, kind, numbered in self.alternatives:
                before = groups[group]
                if before:
                    value = before + "-" + groups[group + 1]
                    return text.replace(value, ref(kind, value, numbered))
        replacements: dict[str, str] = {}
        for groups in found:
            for group, kind, numbered in self.alternatives:
                before = groups[group]
                if before:
                    value = before + "-" + groups[group + 1]
                    if value not in replacements:
                        replacements[value] = ref(kind, value, numbered)
                    break
        return _replace_all(text, replacements)


class _LiteralPass:
    """A built-in pattern that starts with a literal (``call_``), guarded by a substring test."""

    def __init__(self, rule: PatternRule, literal: str, rx: str) -> None:
        self.kind, self.numbered = rule.kind, rule.numbered
        self.guard = literal
        self.findall = re.compile(rx).findall

    def apply(self, text: str, refs: _Refs) -> str:
        found = self.findall(text)
        if not found:
            return text
        kind, numbered = self.kind, self.numbered
        if len(found) == 1 or len(set(found)) == 1:
            return text.replace(found[0], refs.ref(kind, found[0], numbered))
        replacements = {value: refs.ref(kind, value, numbered) for value in dict.fromkeys(found)}
        return _replace_all(text, replacements)


_JSON_STRING_BODY = r'"((?:[^"\\]|\\.)*)"'
_JSON_NUMBER = r"(-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)"


class _KeyPass:
    """A key rule over raw JSON text: ``"key":`` is a literal that guards and anchors it."""

    def __init__(self, rule: KeyRule, fast_match: bool) -> None:
        self.rule = rule
        self.guard = orjson.dumps(rule.key).decode() + ":"
        if fast_match:
            # The built-in interrupt-id rules: a frame that carries an interrupt says so
            # (``__interrupt__``, ``interrupts``), and most frames have other ``"id":`` keys.
            self.guard = "interrupt"
        self.fast = fast_match  # the value regex is baked in (built-in: cannot overrun a string)
        self.match = re.compile(rule.match) if rule.match is not None else None
        if fast_match:
            value = f'"({rule.match})"'
        else:
            value = rf"(?:{_JSON_STRING_BODY}|{_JSON_NUMBER}|([\[{{]))"
        self.rx = re.compile(re.escape(orjson.dumps(rule.key).decode() + ":") + r"\s*" + value)

    def apply(self, text: str, refs: _Refs) -> str:
        if self.rx.search(text) is None:
            return text
        return self.rx.sub(lambda m: self._replace(m, refs), text)

    def _replace(self, m: re.Match[str], refs: _Refs) -> str:
        rule = self.rule
        whole = m.group(0)
        value: Any
        if self.fast:
            value = m.group(1)
            start = m.start(1) - 1  # from the opening quote
        else:
            string, number, container = m.group(1, 2, 3)
            if container is not None:
                refs.structural = True  # an object or a list: masked on the parsed JSON
                return whole
            if string is not None:
                value = string if "\\" not in string else orjson.loads(f'"{string}"')
                if self.match is not None and not self.match.fullmatch(value):
                    return whole
                start = m.start(1) - 1
            else:
                if self.match is not None and not self.match.fullmatch(number):
                    return whole
                value = ("#", number)
                start = m.start(2)
        prefix = whole[: start - m.start()]
        return f'{prefix}"{refs.ref(rule.kind, value, rule.numbered)}"'


class _SlowPattern:
    """A user's regex, applied to each decoded string (and dict key) of the parsed JSON."""

    guard = ""

    def __init__(self, rule: PatternRule) -> None:
        self.rule = rule
        self.rx = re.compile(rule.pattern)

    def apply(self, text: str, refs: _Refs) -> str:
        rule = self.rule
        return self.rx.sub(
            lambda m: refs.ref(rule.kind, refs.original_text(m.group(0)), rule.numbered), text
        )


_Pass = _DashPass | _LiteralPass | _KeyPass | _SlowPattern

# The built-in patterns' fast forms: (guard before, before the first dash, after it).
_DASH_FORMS = {
    UUID_PATTERN: (
        "[0-9A-Fa-f]",
        f"{_HEX}{{8}}",
        f"{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}(?![0-9A-Fa-f])",
    ),
    TIMESTAMP_PATTERN: (
        "[0-9]",
        "[0-9]{4}",
        r"[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
        r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?(?![0-9])",
    ),
    EVENT_ID_PATTERN: ("[0-9]", "[0-9]{13}", "[0-9]+(?![0-9])"),
}
# In raw JSON text a value may follow an escape such as \n; the lookbehind accepts that too.
_TOOL_CALL_FORMS = tuple(
    (
        f"{prefix}_",
        f"{prefix}_(?:(?<![A-Za-z0-9_]{prefix}_)|(?<=\\\\[nrtbf]{prefix}_))"
        f"(?=[A-Za-z]*[0-9])[A-Za-z0-9]{{8,}}(?![A-Za-z0-9_])",
    )
    for prefix in ("call", "toolu")
)


class _Compiled:
    """Rules turned into passes, once per :class:`MaskRules` (cached)."""

    def __init__(self, rules: MaskRules) -> None:
        key_passes: list[_Pass] = []
        self.key_rules = {rule.key: rule for rule in rules.keys}
        for key_rule in rules.keys:
            fast = key_rule.match == INTERRUPT_ID_MATCH  # built-in: cannot run past a string
            key_passes.append(_KeyPass(key_rule, fast))
        dash_specs: list[tuple[PatternRule, str, str, str]] = []
        literal_passes: list[_Pass] = []
        slow: list[_SlowPattern] = []
        for pattern_rule in rules.patterns:
            if pattern_rule.pattern in _DASH_FORMS:
                dash_specs.append((pattern_rule, *_DASH_FORMS[pattern_rule.pattern]))
            elif pattern_rule.pattern == TOOL_CALL_PATTERN:
                literal_passes += [_LiteralPass(pattern_rule, *form) for form in _TOOL_CALL_FORMS]
            else:
                slow.append(_SlowPattern(pattern_rule))
        pattern_passes: list[_Pass] = [_DashPass(dash_specs)] if dash_specs else []
        pattern_passes += literal_passes
        # Key rules first: a masked value is not searched again by the patterns.
        self.text_passes: tuple[_Pass, ...] = (*key_passes, *pattern_passes)
        self.plain_passes: tuple[_Pass, ...] = (*pattern_passes, *slow)
        self.text_steps = _steps(self.text_passes)
        self.plain_steps = _steps(self.plain_passes)
        self.slow_patterns = tuple(slow)
        self.paths = _PathMatcher(rules.paths) if rules.paths else None
        self.structural = bool(self.slow_patterns or self.paths)
        self.headers = {rule.name: rule for rule in rules.headers}


_Step = tuple[str, Callable[[str, _Refs], str]]


def _steps(passes: Sequence[_Pass]) -> tuple[_Step, ...]:
    """(guard, apply) pairs; consecutive passes with the same guard share one test."""
    steps: list[_Step] = []
    for mask_pass in passes:
        if steps and steps[-1][0] == mask_pass.guard and mask_pass.guard:
            first = steps[-1][1]
            second = mask_pass.apply

            def both(
                text: str,
                refs: _Refs,
                first: Callable[[str, _Refs], str] = first,
                second: Callable[[str, _Refs], str] = second,
            ) -> str:
                return second(first(text, refs), refs)

            steps[-1] = (mask_pass.guard, both)
        else:
            steps.append((mask_pass.guard, mask_pass.apply))
    return tuple(steps)


@functools.lru_cache(maxsize=64)
def _compiled(rules: MaskRules) -> _Compiled:
    return _Compiled(rules)


# --- the masker ------------------------------------------------------------------------------


class Masker:
    """Masks values with one set of aliases: use one per stream.

    ``mask_json``, ``mask_text``, ``mask_value`` and ``mask_headers`` return masked values with
    numbered placeholders; the same original value gets the same placeholder in every call on
    one masker, numbered by kind in the order values were first met.
    """

    def __init__(self, rules: MaskRules | None = None) -> None:
        self.rules = rules if rules is not None else MaskRules.default()
        self._compiled = _compiled(self.rules)
        self._numbers: dict[Original, int] = {}  # (kind, original) -> its number
        self._counts: dict[str, int] = {}  # kind -> placeholders made so far
        self._names: dict[str, str] = {}  # event names that mask to no reference

    def alias(self, kind: str, value: Any) -> str:
        """The numbered placeholder of a value of a kind, made on first sight."""
        return f"<{kind}:{self._number((kind, value))}>"

    def number(self, originals: Iterable[Original]) -> list[str]:
        """Numbered placeholders for originals, in order (numbering the new ones)."""
        return [f"<{original[0]}:{self._number(original)}>" for original in originals]

    def known(self, original: Original) -> int | None:
        """The number a value already has, if any."""
        return self._numbers.get(original)

    def _number(self, original: Original) -> int:
        number = self._numbers.get(original)
        if number is None:
            kind = original[0]
            number = self._numbers[original] = self._counts[kind] = self._counts.get(kind, 0) + 1
        return number

    # -- public helpers ---------------------------------------------------------------------

    def mask_text(self, text: str) -> str:
        """A plain string (an event name, a header value, a URL path) with patterns masked."""
        refs = _Refs()
        shape = self._plain(text, refs)
        return _numbered(shape, self.number(zip(refs.kinds, refs.values, strict=False))) or ""

    def mask_json(self, text: str) -> str:
        """JSON text with every rule applied; JSON that does not parse is masked as text."""
        refs = _Refs()
        shape = self._json(text, refs)
        return _numbered(shape, self.number(zip(refs.kinds, refs.values, strict=False))) or ""

    def mask_value(self, value: Any) -> Any:
        """A JSON value (dicts, lists, strings, numbers) with every rule applied."""
        return orjson.loads(self.mask_json(orjson.dumps(value).decode()))

    def mask_headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """Response headers: header rules mask whole values, the others go through patterns."""
        rules = self._compiled.headers
        masked: list[tuple[str, str]] = []
        for name, value in headers:
            rule = rules.get(name.lower())
            if rule is None:
                masked.append((name, self.mask_text(value)))
            elif rule.numbered:
                masked.append((name, self.alias(rule.kind, value)))
            else:
                masked.append((name, f"<{rule.kind}>"))
        return masked

    # -- internals --------------------------------------------------------------------------

    def _plain(self, text: str, refs: _Refs) -> str:
        if _OPEN in text:
            text = text.replace(_OPEN, "\\ue000")
        for guard, apply in self._compiled.plain_steps:
            if guard in text:
                text = apply(text, refs)
        return text

    def _json(self, text: str, refs: _Refs) -> str:
        if _OPEN in text:
            text = text.replace(_OPEN, "\\ue000")  # a JSON escape: the same string once parsed
        compiled = self._compiled
        if not compiled.structural:
            mark = len(refs.values)
            masked = text
            for guard, apply in compiled.text_steps:
                if guard in masked:  # a substring test is far cheaper than a regex scan
                    masked = apply(masked, refs)
            if not refs.structural:
                return masked
            refs.truncate(mark)  # a key rule met an object: start again on the parsed JSON
        refs.structural = True
        return self._structural(text, refs)

    def _structural(self, text: str, refs: _Refs) -> str:
        """Every rule applied to the parsed JSON, value by value in document order (for path
        rules, user regexes, and key rules whose value is an object or a list)."""
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return self._plain(text, refs)
        paths = self._compiled.paths
        masked = self._walk(value, refs, paths.start if paths is not None else None)
        return orjson.dumps(masked).decode()

    def _walk(self, value: Any, refs: _Refs, path: _PathState | None) -> Any:
        compiled = self._compiled
        if isinstance(value, str):
            return self._plain(value, refs) if value else value
        if isinstance(value, dict):
            result: dict[str, Any] = {}
            for key, item in value.items():
                masked_key = self._plain(key, refs) if key else key
                following: _PathState | None = None
                if path is not None and compiled.paths is not None:
                    following, hit = compiled.paths.step(path, refs.unnumbered(masked_key))
                    if hit is not None:
                        result[masked_key] = self._whole(item, refs, hit.kind, hit.numbered)
                        continue
                key_rule = compiled.key_rules.get(key)
                if key_rule is not None and _key_rule_masks(key_rule, item):
                    result[masked_key] = self._whole(item, refs, key_rule.kind, key_rule.numbered)
                    continue
                result[masked_key] = self._walk(item, refs, following)
            return result
        if isinstance(value, list):
            items: list[Any] = []
            for index, item in enumerate(value):
                following = None
                if path is not None and compiled.paths is not None:
                    following, hit = compiled.paths.step(path, index)
                    if hit is not None:
                        items.append(self._whole(item, refs, hit.kind, hit.numbered))
                        continue
                items.append(self._walk(item, refs, following))
            return items
        return value

    def _whole(self, value: Any, refs: _Refs, kind: str, numbered: bool) -> str:
        original: Any
        if isinstance(value, str):
            original = refs.original_text(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            original = ("#", orjson.dumps(value).decode())
        else:
            dumped = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
            original = ("json", refs.original_text(dumped))
        return refs.ref(kind, original, numbered)


def _key_rule_masks(rule: KeyRule, value: Any) -> bool:
    """Whether a key rule masks this value (what its text form masks, and objects and lists)."""
    if isinstance(value, (dict, list)):
        return True
    if value is None or isinstance(value, bool):
        return False
    if rule.match is None:
        return True
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    return re.fullmatch(rule.match, text) is not None


# --- masked streams --------------------------------------------------------------------------


class _FrameTable:
    """A stream's masked events, column by column: what the diff reads.

    Row ``r`` is the ``r``-th event; ``indices[r]`` its frame's position in the recorded stream;
    ``events``, ``ids`` and ``datas`` its masked fields with frame-local references. The values
    those references stand for are kept flat: row ``r``'s are ``values[offsets[r]:offsets[r +
    1]]``, of the kinds in ``kinds`` (same positions). No container is made per event, so a long
    stream leaves the garbage collector nothing to traverse but a few big lists.
    """

    __slots__ = ("datas", "events", "ids", "indices", "kinds", "names", "offsets", "values")

    def __init__(self) -> None:
        self.indices = array("q")
        self.names: list[str | None] = []  # event names as sent, which select modes
        self.events: list[str | None] = []
        self.ids: list[str | None] = []
        self.datas: list[str | None] = []
        self.values: list[Any] = []
        self.kinds: list[str] = []
        self.offsets = array("q", [0])

    def __len__(self) -> int:
        return len(self.datas)

    def key(self, row: int) -> Key:
        return (self.events[row], self.ids[row], self.datas[row])

    def row_values(self, row: int) -> list[Any]:
        return self.values[self.offsets[row] : self.offsets[row + 1]]

    def row_kinds(self, row: int) -> list[str]:
        return self.kinds[self.offsets[row] : self.offsets[row + 1]]


Key = tuple[str | None, str | None, str | None]  # masked (event, id, data)


class _Numbering:
    """Numbers the values of a stream's events in stream order, up to an event, when a numbered
    placeholder is first asked for (diffing equal streams never asks)."""

    __slots__ = ("done", "masker", "table")

    def __init__(self, masker: Masker, table: _FrameTable) -> None:
        self.masker = masker
        self.table = table
        self.done = 0  # rows numbered so far

    def run(self, until: int | None = None) -> None:
        """Number the values of the rows up to ``until`` (all of them: None)."""
        table = self.table
        stop = len(table) if until is None else min(until + 1, len(table))
        if stop <= self.done:
            return
        numbers, counts = self.masker._numbers, self.masker._counts
        first, last = table.offsets[self.done], table.offsets[stop]
        # (kind, value) pairs, distinct and in order of appearance, gathered at C speed
        met = dict.fromkeys(zip(table.kinds[first:last], table.values[first:last], strict=True))
        for original in met:
            if original not in numbers:
                kind = original[0]
                numbers[original] = counts[kind] = counts.get(kind, 0) + 1
        self.done = stop


class MaskedFrame:
    """One event of a stream, masked. ``index`` is the frame's position in the recorded stream.

    ``event``, ``id``, ``data_text`` and ``data`` show numbered placeholders. What the diff
    compares is ``key`` (the masked event, id and data with frame-local references) and
    ``originals`` (the ``(kind, value)`` pairs those references stand for).
    """

    __slots__ = ("_data", "_numbering", "_row", "_shapes", "_tokens")

    def __init__(self, numbering: _Numbering, row: int) -> None:
        self._numbering = numbering
        self._row = row
        self._shapes = numbering.table.key(row)
        self._tokens: list[str] | None = None
        self._data: Any = _UNSET

    def sse_lines(self) -> list[str]:
        """The masked frame as SSE field lines (``event:``, ``data:`` per line, ``id:``)."""
        lines = [] if self.event is None else [f"event: {self.event}"]
        if self.data_text is not None:
            lines += [f"data: {line}" for line in self.data_text.split("\n")]
        if self.id is not None:
            lines.append(f"id: {self.id}")
        return lines

    @property
    def index(self) -> int:
        return self._numbering.table.indices[self._row]

    @property
    def name(self) -> str | None:
        """The event name as sent (which selects the mode)."""
        return self._numbering.table.names[self._row]

    @property
    def key(self) -> Key:
        """The masked ``(event, id, data)`` with frame-local references: what aligns frames."""
        return self._shapes

    @property
    def originals(self) -> list[Original]:
        """The ``(kind, value)`` pairs the references stand for, in reference order."""
        table = self._numbering.table
        return list(zip(table.row_kinds(self._row), table.row_values(self._row), strict=True))

    @property
    def tokens(self) -> list[str]:
        """The numbered placeholders of ``originals`` (``"<uuid:3>"``), parallel to it."""
        if self._tokens is None:
            self._numbering.run(self._row)
            self._tokens = self._numbering.masker.number(self.originals)
        return self._tokens

    @property
    def event_shape(self) -> str | None:
        """The masked event name with frame-local references."""
        return self._shapes[0]

    @property
    def id_shape(self) -> str | None:
        return self._shapes[1]

    @property
    def data_shape(self) -> str | None:
        """The masked data with frame-local references (JSON text when the data is JSON)."""
        return self._shapes[2]

    @property
    def event(self) -> str | None:
        return _numbered(self.event_shape, self.tokens)

    @property
    def id(self) -> str | None:
        return _numbered(self.id_shape, self.tokens)

    @property
    def data_text(self) -> str | None:
        return _numbered(self.data_shape, self.tokens)

    @property
    def data(self) -> Any:
        """The masked data as JSON values, or as text when it is not JSON."""
        if self._data is _UNSET:
            text = self.data_text
            try:
                self._data = orjson.loads(text) if text is not None else None
            except orjson.JSONDecodeError:
                self._data = text
        return self._data

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"frame": self.index, "event": self.event}
        if self.id_shape is not None:
            out["id"] = self.id
        out["data"] = self.data
        return out

    def __repr__(self) -> str:
        return f"MaskedFrame({self.index}, {self.event!r}, {self.data_text!r})"


_UNSET: Any = object()


class MaskedStream:
    """One SSE interaction of a cassette, masked with one set of aliases."""

    def __init__(
        self,
        *,
        interaction: int,
        method: str,
        path: str,
        body: Any,
        status: int,
        headers: list[tuple[str, str]],
        table: _FrameTable,
        masker: Masker,
        end: StreamEnd = StreamEnd.CLOSED,
        error: str | None = None,
    ) -> None:
        self.interaction = interaction  # the interaction's index in its cassette
        self.method = method
        self.path = path  # masked, with the query
        self.body = body  # the masked request body (JSON values or text), or None
        self.status = status
        self.headers = headers
        self.end = end
        self.error = error  # "RemoteProtocolError: ..." when the stream dropped
        self.masker = masker  # holds the numbering
        self._numbering = _Numbering(masker, table)
        self._frames: dict[int, MaskedFrame] = {}

    @property
    def request_line(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def table(self) -> _FrameTable:
        return self._numbering.table

    def __len__(self) -> int:
        return len(self.table)

    def frame(self, row: int) -> MaskedFrame:
        """The ``row``-th event (comment-only frames are not events)."""
        found = self._frames.get(row)
        if found is None:
            if not 0 <= row < len(self):
                msg = f"stream has {len(self)} events; there is no event {row}"
                raise IndexError(msg)
            found = self._frames[row] = MaskedFrame(self._numbering, row)
        return found

    @property
    def frames(self) -> list[MaskedFrame]:
        """Every event, masked."""
        return [self.frame(row) for row in range(len(self))]

    def token(self, original: Original, *, at: int | None = None) -> str:
        """The numbered placeholder of a value of this stream (first seen by row ``at``)."""
        if self.masker.known(original) is None:
            self._numbering.run(at)
        return self.masker.alias(*original)

    def text(self) -> str:
        """The masked stream as readable text, frames in SSE form (diffable with any tool)."""
        lines = [f"# interaction {self.interaction}: {self.request_line}"]
        if self.body is not None:
            body = self.body if isinstance(self.body, str) else orjson.dumps(self.body).decode()
            lines.append(f"# request body: {body}")
        lines.append(f"# status {self.status}")
        lines += [f"# {name}: {value}" for name, value in self.headers]
        lines.append("")
        for frame in self.frames:
            lines.append(f"# frame {frame.index}")
            lines += frame.sse_lines()
            lines.append("")
        ending = f"# stream end: {self.end.value}"
        if self.error:
            ending += f" ({self.error})"
        lines.append(ending)
        return "\n".join(lines) + "\n"

    def to_json(self) -> dict[str, Any]:
        return {
            "interaction": self.interaction,
            "request": {"method": self.method, "path": self.path, "body": self.body},
            "status": self.status,
            "headers": [list(pair) for pair in self.headers],
            "frames": [frame.to_json() for frame in self.frames],
            "end": self.end.value,
            "error": self.error,
        }

    def __repr__(self) -> str:
        return f"<MaskedStream {self.interaction}: {self.request_line}, {len(self)} events>"


def _mask_frames(frames: Iterable[RecordedFrame], masker: Masker) -> _FrameTable:
    """The events of a stream's raw frames, masked (comment-only frames are left out)."""
    table = _FrameTable()
    add_index, add_name = table.indices.append, table.names.append
    add_event, add_id, add_data = table.events.append, table.ids.append, table.datas.append
    add_offset = table.offsets.append
    all_values, all_kinds = table.values, table.kinds
    refs = _Refs()
    kinds, values = refs.kinds, refs.values
    names = masker._names
    plain = masker._plain
    json_text = masker._json
    compiled = masker._compiled
    steps, always_structural = compiled.text_steps, compiled.structural
    for index, frame in enumerate(frames):
        raw = frame.raw
        # event_fields, its usual case inlined (this is the hot loop)
        first = raw.find(b"\n", 7)
        second = raw.find(b"\n", first + 7)
        if (
            raw.startswith(b"event: ")
            and raw[first - 1] == 13
            and second == len(raw) - 3
            and raw.startswith(b"data: ", first + 1)
            and raw.endswith(b"\r\n\r\n")
            and raw.count(b"\r") == 3
        ):
            event: str | None = raw[7 : first - 1].decode("utf-8", "replace")
            data: str | None = raw[first + 7 : second - 1].decode("utf-8", "replace")
            event_id: str | None = None
        else:
            fields = event_fields(raw)
            if fields is None:
                continue
            event, data, event_id = fields
        event_shape = event
        if event is not None:
            event_shape = names.get(event)
            if event_shape is None:
                event_shape = plain(event, refs)
                if not values:
                    names[event] = event_shape
        data_shape = data
        if data is not None:  # Masker._json, inlined
            if always_structural or _OPEN in data:
                data_shape = json_text(data, refs)
            else:
                mark = len(values)
                masked = data
                for guard, apply in steps:
                    if guard in masked:
                        masked = apply(masked, refs)
                if refs.structural:  # a key rule met an object: start again on the parsed JSON
                    refs.truncate(mark)
                    masked = json_text(data, refs)
                data_shape = masked
        id_shape = plain(event_id, refs) if event_id is not None else None
        if values:
            if refs.structural:  # references a path rule masked away: drop them
                (event_shape, data_shape, id_shape), kept_kinds, kept_values = _reindex(
                    (event_shape, data_shape, id_shape), kinds, values
                )
                all_kinds += kept_kinds
                all_values += kept_values
            else:
                all_kinds += kinds
                all_values += values
            kinds.clear()
            values.clear()
            if refs.local is not None:
                refs.local = None
            refs.structural = False
            add_offset(len(all_values))
        else:
            add_offset(len(all_values))
            if refs.structural:
                refs.structural = False
        add_index(index)
        add_name(event)
        add_event(event_shape)
        add_id(id_shape)
        add_data(data_shape)
    return table


def mask_stream(
    interaction: Interaction, rules: MaskRules | None = None, *, index: int = 0
) -> MaskedStream:
    """One SSE interaction masked with its own aliases: request, headers, then frames."""
    response = interaction.response
    if response is None or response.stream is None:
        msg = f"interaction {index} ({interaction.request.describe()}) is not an SSE stream"
        raise ValueError(msg)
    masker = Masker(rules)
    request = interaction.request
    path = request.path
    if request.query:
        path += "?" + "&".join(f"{key}={value}" for key, value in request.query)
    masked_path = masker.mask_text(path)
    body: Any = None
    if request.body is not None and request.body.content:
        try:
            text = request.body.content.decode("utf-8")
        except UnicodeDecodeError:
            body = f"<{len(request.body.content)} bytes of binary data>"
        else:
            masked = masker.mask_json(text)
            try:
                body = orjson.loads(masked)
            except orjson.JSONDecodeError:
                body = masked
    headers = masker.mask_headers(response.headers)
    stream = response.stream
    error = f"{stream.error.type}: {stream.error.message}" if stream.error is not None else None
    return MaskedStream(
        interaction=index,
        method=request.method,
        path=masked_path,
        body=body,
        status=response.status,
        headers=headers,
        table=_mask_frames(stream.frames, masker),
        masker=masker,
        end=stream.end,
        error=error,
    )


def mask_cassette(cassette: Cassette, rules: MaskRules | None = None) -> list[MaskedStream]:
    """Every SSE interaction of a cassette, masked; aliases are consistent within each stream."""
    with paused_gc():
        return [
            mask_stream(interaction, rules, index=index)
            for index, interaction in cassette.streams()
        ]
