"""The aliasing engine: masking rules compiled into fast passes, and :class:`Masker`.

Two runs of the same request differ in run, thread, checkpoint, task and message ids, tool-call
ids, timestamps and the like. Masking replaces each such value with a placeholder named by its
kind and numbered in order of first appearance (``<uuid:1>``, ``<tool_call:2>``): the same
original value gets the same placeholder everywhere a :class:`Masker` looks, so the links between
frames survive (an AI message's tool call and the tool message's ``tool_call_id``) and a broken
link shows up as a difference. Some kinds (timestamps) mask to one unnumbered placeholder.
The rules themselves are ``_mask_rules``; the id shapes they name (``UUID_PATTERN``,
``TOOL_CALL_PATTERN``, ...) are exported here too, for code that finds ids the same way.

Masking never happens at record time (later requests reuse the recorded ids); it is applied when
streams are matched, compared and shown.

Speed: masking is the hot path of ``diff``. The built-in rules run over the raw JSON text of a
frame, each as one regex with a literal prefix that a C-level substring test guards, and the
values are replaced where they match, in one join; JSON is parsed only for path rules, user regexes
and key rules whose value is an object or a list (then every rule is applied value by value, in
document order). Inside a frame, masked values are held as frame-local references
(``\\x91<n>\\x92``, :class:`_Refs`) to the values they stand for: the diff compares frames
with those, whatever the numbering (see ``_diff``), and numbers are given only when a stream is
shown (``_masked``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from fnmatch import fnmatchcase
from typing import Any

import orjson

from ._mask_rules import (
    _HEX,
    EVENT_ID_PATTERN,
    INTERRUPT_ID_MATCH,
    ORDINAL_ID_MATCH,
    TIMESTAMP_PATTERN,
    TOOL_CALL_BODY,
    TOOL_CALL_ID_KEYS,
    TOOL_CALL_ID_MATCH,
    TOOL_CALL_PATTERN,
    UUID_PATTERN,
    KeyRule,
    MaskRules,
    PathRule,
    PatternRule,
    _parse_glob,
)

__all__ = [
    "EVENT_ID_PATTERN",
    "INTERRUPT_ID_MATCH",
    "ORDINAL_ID_MATCH",
    "TIMESTAMP_PATTERN",
    "TOOL_CALL_PATTERN",
    "UUID_PATTERN",
    "Masker",
    "Original",
]

# --- path globs ------------------------------------------------------------------------------

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

# A reference is written between the C1 controls PU1 and PU2 ("private use"), which no text
# a server sends holds (a text that does is escaped first). They are Latin-1: a masked text
# of ASCII JSON stays one byte a character (a private-use U+E000 made it two), so the shapes
# of a stream are copied, compared and searched at half the cost.
_OPEN, _CLOSE = "\x91", "\x92"
_OPEN_ESCAPED = f"\\u{ord(_OPEN):04x}"  # PU1 as a JSON escape: the same string once parsed
_REF = re.compile(f"{_OPEN}([0-9]+){_CLOSE}")
_REFS = [f"{_OPEN}{n}{_CLOSE}" for n in range(256)]
Original = tuple[str, Any]  # (kind, the value as found)


_REF0 = _REFS[0]


def _ref(n: int) -> str:
    return _REFS[n] if n < 256 else f"{_OPEN}{n}{_CLOSE}"


class _Padding:
    """Stands for the values met before a piece that is masked at an offset (equal to none)."""

    __slots__ = ()


_PADDING = _Padding()


class _Refs:
    """What masking one piece of text builds: frame-local references (``\\x91<n>\\x92``) to
    the distinct values they stand for, with their kinds, in the order they were met. Numbering
    them (``<uuid:3>``) is left for later, when a stream is shown: comparing needs none."""

    __slots__ = ("kinds", "local", "structural", "values")

    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.values: list[Any] = []
        self.local: dict[Original, str] | None = None  # once there are many values
        self.structural = False  # a key rule met an object or a list: parse this one

    @classmethod
    def padded(cls, offset: int) -> _Refs:
        """Refs whose first ``offset`` values stand for values met before (equal to none): a
        piece masked in them has its references from ``offset``."""
        refs = cls()
        if offset:
            refs.values = [_PADDING] * offset
            refs.kinds = [""] * offset
        return refs

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
        self.search = re.compile("-(?:" + "|".join(alternatives) + ")").search
        # by a match's last group (the one after the dash): the group before the dash (where
        # the value starts), and what it masks
        self.by_last = {
            2 * number + 2: (2 * number + 1, spec[0].kind, spec[0].numbered)
            for number, spec in enumerate(specs)
        }

    def apply(self, text: str, refs: _Refs) -> str:
        """Each match replaced where it is found, in one join (no copy of the text per value);
        one search after another (lookbehinds see the text before where a search starts):
        cheaper than an iterator for the one or two ids most texts hold."""
        search = self.search
        match = search(text)
        if match is None:
            return text
        by_last, ref = self.by_last, refs.ref
        pieces: list[str] = []
        done = 0
        while match is not None:
            before, kind, numbered = by_last[match.lastindex]  # type: ignore[index]
            start, end = match.start(before), match.end()
            pieces += (text[done:start], ref(kind, text[start:end], numbered))
            done = end
            match = search(text, end)
        pieces.append(text[done:])
        return "".join(pieces)


class _LiteralPass:
    """A built-in pattern that starts with a literal (``call_``), guarded by a substring test."""

    def __init__(self, rule: PatternRule, literal: str, rx: str) -> None:
        self.kind, self.numbered = rule.kind, rule.numbered
        self.guard = literal
        compiled = re.compile(rx)
        self.search, self.findall, self.finditer = (
            compiled.search,
            compiled.findall,
            compiled.finditer,
        )

    def apply(self, text: str, refs: _Refs) -> str:
        match = self.search(text)
        if match is None:
            return text
        start, end = match.span()
        value = text[start:end]
        if self.search(text, end) is None and _LONG_TOOL_CALL_ID(value):
            # the usual one: a provider-shaped id, replaced where it matches
            return text[:start] + refs.ref(self.kind, value, self.numbered) + text[end:]
        found = self.findall(text)
        kind, numbered = self.kind, self.numbered
        if not all(map(_LONG_TOOL_CALL_ID, found)):
            # a short id from an id position (call_abc): replaced as a whole word only, so
            # that call_a leaves call_again in a message's text alone
            values = sorted(dict.fromkeys(found), key=len, reverse=True)
            words = re.compile(
                r"(?:(?<![A-Za-z0-9_])|(?<=\\[nrtbf]))(?:"
                + "|".join(map(re.escape, values))
                + r")(?![A-Za-z0-9_])"
            )
            return words.sub(lambda m: refs.ref(kind, m.group(), numbered), text)
        # provider-shaped ids: replaced where they match, not where their text recurs inside
        # a longer word (as the JSON walk masks each string)
        value, times = found[0], len(found)
        if found.count(value) == times and text.count(value) == times:
            return text.replace(value, refs.ref(kind, value, numbered))  # each one a match
        pieces: list[str] = []
        done = 0
        ref = refs.ref
        for match in self.finditer(text):
            start, end = match.span()
            pieces += (text[done:start], ref(kind, match.group(), numbered))
            done = end
        pieces.append(text[done:])
        return "".join(pieces)


_JSON_STRING_BODY = r'"((?:[^"\\]|\\.)*)"'
_JSON_NUMBER = r"(-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)"


class _KeyPass:
    """A key rule over raw JSON text: ``"key":`` is a literal that guards and anchors it (for a
    prefix rule, ``x-*``, the literal is ``"x-`` and the rest of the key is read after it)."""

    def __init__(self, rule: KeyRule, fast_match: bool) -> None:
        self.rule = rule
        prefix = rule.key[:-1] if rule.key.endswith("*") else None
        quoted = orjson.dumps(prefix if prefix is not None else rule.key).decode()
        # the rest of a prefix rule's key: no escape, no quote, then the closing ``":``
        key_rest = r'[^"\\]*":' if prefix is not None else ""
        self.guard = quoted[:-1] if prefix is not None else quoted + ":"
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
        key = re.escape(quoted[:-1] if prefix is not None else quoted + ":") + key_rest
        self.rx = re.compile(key + r"\s*" + value)
        # An unnumbered rule with no match masks every string or number to the same text: a
        # substitution with a template, no Python call per value.
        self.constant: str | None = None
        if not rule.numbered and rule.match is None and not fast_match:
            self.constant = f'"<{rule.kind}>"'
            self.value = re.compile(
                f"({key_rest})" + r'(\s*)(?:"(?:[^"\\]|\\.)*"|-?[0-9][0-9.eE+-]*|([\[{]))'
            )

    def apply(self, text: str, refs: _Refs) -> str:
        if self.constant is not None:
            return self._constant(text, refs)
        if self.rx.search(text) is None:
            return text
        return self.rx.sub(lambda m: self._replace(m, refs), text)

    def _constant(self, text: str, refs: _Refs) -> str:
        """Every string or number value of the key replaced by the same placeholder, found
        with ``str.find`` (cheaper than a regex scan for a key that is in most frames)."""
        guard, constant, value = self.guard, self.constant or "", self.value
        pieces: list[str] = []
        done = 0
        found = text.find(guard)
        while found != -1:
            after = found + len(guard)
            m = value.match(text, after)
            if m is not None:
                if m.group(3) is not None:
                    refs.structural = True  # an object or a list: masked on the parsed JSON
                    return text
                pieces += (text[done:after], m.group(1), m.group(2), constant)
                done = m.end()
            found = text.find(guard, after)
        if not pieces:
            return text
        pieces.append(text[done:])
        return "".join(pieces)

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


class _GuardPass:
    """A literal that a path rule or a user regex needs in a frame's raw JSON text to match:
    where it is, the frame is masked on its parsed JSON (``_Masker._structural``); where it
    is not, the rule costs one substring test."""

    def __init__(self, guard: str) -> None:
        self.guard = guard

    def apply(self, text: str, refs: _Refs) -> str:
        refs.structural = True
        return text


_Pass = _DashPass | _LiteralPass | _KeyPass | _SlowPattern | _GuardPass

# Characters that every JSON writer leaves as they are inside strings (no escapes), so a
# literal made of them appears verbatim in the raw text of any JSON holding it.
_VERBATIM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-:.@#=+,~%! ")
_REGEX_META = frozenset(".^$*+?{}[]()|\\")
_ESCAPED_LITERAL = frozenset("-:.@#=+,~%!_ /*+?{}[]()|^$")


def _regex_literal(pattern: str) -> str | None:
    """A literal every match of ``pattern`` contains (its leading literal characters), when
    it has one of three characters or more that JSON never escapes; else ``None``."""
    if "|" in pattern or pattern.startswith("(?"):
        return None  # alternatives, flags or lookarounds: no safe literal
    literal: list[str] = []
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if (
            char == "\\"
            and position + 1 < len(pattern)
            and pattern[position + 1] in _ESCAPED_LITERAL
        ):
            char, step = pattern[position + 1], 2
        elif char in _REGEX_META or char not in _VERBATIM:
            if char in "?*{" and literal:
                literal.pop()  # the character before is optional
            break
        else:
            step = 1
        if char not in _VERBATIM:
            break
        literal.append(char)
        position += step
    text = "".join(literal)
    return text if len(text) >= 3 else None


def _path_literal(path: str) -> str | None:
    """A ``"key":`` text every frame a path glob matches in contains: its last plain key (the
    one nearest the value, so the rarest: ``created`` in ``**.response_metadata.created``)."""
    keys = [
        value
        for kind, value in _parse_glob(path)
        if kind == "key" and isinstance(value, str) and value and set(value) <= _VERBATIM
    ]
    return orjson.dumps(keys[-1]).decode() + ":" if keys else None


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
# The built-in patterns a whole SSE id can be, as full-match forms.
_WHOLE_FORMS = {EVENT_ID_PATTERN: "[0-9]{13}-[0-9]+"}


# In raw JSON text a value may follow an escape such as \n; the lookbehind accepts that too.
# In an id position (the whole string value of a TOOL_CALL_ID_KEYS key), any body is an id.
def _id_position(prefix: str) -> str:
    return "|".join(
        f'(?<="{key}":{space}"{prefix}_)' for key in TOOL_CALL_ID_KEYS for space in ("", " ")
    )


_TOOL_CALL_FORMS = tuple(
    (
        f"{prefix}_",
        f'{prefix}_(?:(?:{_id_position(prefix)}){gateway}[A-Za-z0-9]+(?=")'
        f"|(?:(?<![A-Za-z0-9_]{prefix}_)|(?<=\\\\[nrtbf]{prefix}_))"
        f"{gateway}{TOOL_CALL_BODY}(?![A-Za-z0-9_]))",
    )
    for prefix, gateway in (("call", ""), ("toolu", "(?:vrtx_|bdrk_)?"))
)
_TOOL_CALL_ID = re.compile(TOOL_CALL_ID_MATCH)
_LONG_TOOL_CALL_ID = re.compile(f"(?:call_|toolu_(?:vrtx_|bdrk_)?){TOOL_CALL_BODY}").fullmatch


class _Compiled:
    """Rules turned into passes, once per :class:`MaskRules` (cached)."""

    def __init__(self, rules: MaskRules) -> None:
        key_passes: list[_Pass] = []
        self.key_rules = {rule.key: rule for rule in rules.keys if not rule.key.endswith("*")}
        self.key_prefixes = tuple((r.key[:-1], r) for r in rules.keys if r.key.endswith("*"))
        # the tool-call rule, for ids in id positions when masking parsed JSON
        self.tool_call: PatternRule | None = None
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
                self.tool_call = pattern_rule
                literal_passes += [_LiteralPass(pattern_rule, *form) for form in _TOOL_CALL_FORMS]
            else:
                slow.append(_SlowPattern(pattern_rule))
        pattern_passes: list[_Pass] = [_DashPass(dash_specs)] if dash_specs else []
        pattern_passes += literal_passes
        # User regexes and path rules run on the parsed JSON, but only in frames that hold a
        # literal they need; one with no such literal makes every frame go that way.
        guards = [_regex_literal(rule.rule.pattern) for rule in slow]
        guards += [_path_literal(rule.path) for rule in rules.paths]
        guard_passes: list[_Pass] = [_GuardPass(guard) for guard in dict.fromkeys(guards) if guard]
        # Key rules first: a masked value is not searched again by the patterns.
        self.text_passes: tuple[_Pass, ...] = (*guard_passes, *key_passes, *pattern_passes)
        self.plain_passes: tuple[_Pass, ...] = (*pattern_passes, *slow)
        text_steps = _steps(self.text_passes)
        self.text_steps = _prefiltered(text_steps)
        self.numbered_steps = tuple(enumerate(self.text_steps))
        # the text steps that run more than one pass (sharing their guard)
        self.shared_steps = frozenset(
            number
            for number, (guard, _) in enumerate(text_steps)
            if sum(p.guard == guard for p in self.text_passes) > 1
        )
        # Guards of passes whose work on a text depends on more than where they match: tool-call
        # ids are replaced wherever they recur, and the interrupt-id rules are guarded by a
        # word that is not in what they match. A text cut where one of them is does not mask
        # as the whole would (``Masker._after_head``).
        self.loose_guards = tuple(p.guard for p in key_passes if isinstance(p, _KeyPass) and p.fast)
        self.unsplit_guards = (
            *(p.guard for p in literal_passes if isinstance(p, _LiteralPass)),
            *self.loose_guards,
        )
        self.plain_steps = _prefiltered(_steps(self.plain_passes))
        self.slow_patterns = tuple(slow)
        self.paths = _PathMatcher(rules.paths) if rules.paths else None
        self.structural = None in guards
        self.headers = {rule.name: rule for rule in rules.headers}
        # SSE ids: the SSE id rules, then the built-in patterns that an id can be as a whole
        # (an <epoch_ms>-<seq> id), tested at once instead of through every pattern.
        id_forms = [(rule.pattern, rule.kind, rule.numbered) for rule in rules.sse_ids] + [
            (_WHOLE_FORMS[rule.pattern], rule.kind, rule.numbered)
            for rule in rules.patterns
            if rule.pattern in _WHOLE_FORMS
        ]
        self.sse_ids = _SseIds(id_forms)


class _SseIds:
    """The rules a whole SSE id can match, in order, as one regex (one call per frame): each
    an alternative in a group of its own; with ``fullmatch`` the first alternative that
    matches the whole id wins, as the first rule would. ``rule(id)`` is its ``(kind,
    numbered)``; ``by_group`` gives it by a match's ``lastindex``; ``patterns`` are the
    rules' regexes, in order."""

    def __init__(self, forms: Sequence[tuple[str, str, bool]]) -> None:
        self.patterns = [pattern for pattern, _, _ in forms]
        self.forms = [
            (re.compile(pattern).fullmatch, kind, numbered) for pattern, kind, numbered in forms
        ]
        self.fullmatch: Callable[[str], re.Match[str] | None] | None = None
        self.by_group: dict[int | None, tuple[str, bool]] = {}
        if not forms:
            return
        try:
            compiled = re.compile(
                "|".join(f"(?P<_sse_id_{n}>{form[0]})" for n, form in enumerate(forms))
            )
        except re.error:  # e.g. a rule with global flags: tried one by one
            return
        self.fullmatch = compiled.fullmatch
        for n, (_, kind, numbered) in enumerate(forms):
            self.by_group[compiled.groupindex[f"_sse_id_{n}"]] = (kind, numbered)

    def rule(self, event_id: str) -> tuple[str, bool] | None:
        if self.fullmatch is not None:
            match = self.fullmatch(event_id)
            return None if match is None else self.by_group[match.lastindex]
        for fullmatch, kind, numbered in self.forms:
            if fullmatch(event_id) is not None:
                return kind, numbered
        return None


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


# Letters that few texts of a LangGraph server hold (a fourth of its JSON texts or fewer)
_RARE_LETTERS = frozenset("jqxzJQXZ")


def _prefiltered(steps: Sequence[_Step]) -> tuple[_Step, ...]:
    """The steps, a guard that holds a rare letter tested by that letter first: a search
    for one character is a ``memchr``, and a guard such as ``"x-`` (the ``x-*`` key rule),
    whose characters are all frequent in JSON, is searched for at a fraction of that speed.
    The whole guard is then tested in the fourth of the texts that hold the letter."""
    prefiltered: list[_Step] = []
    for guard, apply in steps:
        rare = next((letter for letter in guard if letter in _RARE_LETTERS), None)
        if rare is None or len(guard) == 1:
            prefiltered.append((guard, apply))
            continue

        def guarded(
            text: str,
            refs: _Refs,
            guard: str = guard,
            apply: Callable[[str, _Refs], str] = apply,
        ) -> str:
            return apply(text, refs) if guard in text else text

        prefiltered.append((rare, guarded))
    return tuple(prefiltered)


@functools.lru_cache(maxsize=64)
def _compiled(rules: MaskRules) -> _Compiled:
    return _Compiled(rules)


# --- the masker ------------------------------------------------------------------------------

_PIECE_MIN = 100  # characters: a smaller piece is masked with the rest
_PIECES_KEPT = 64  # remembered pieces per masker (a stream repeats a few at a time)
_FIRSTS_KEPT = 4096  # remembered first pieces (a token and its key) per masker
_UNSEEN: Any = object()
_NO_PIECES: Any = object()  # a rest that is not cut in two pieces


def _outside_strings(head: str) -> bool:
    """Whether the end of a JSON text's head is outside any string: an even number of
    unescaped quotes before it. Without ``\\\\`` in it, every backslash escapes the
    character after it, so ``\\"`` is the only escaped quote (a tool call's streamed
    ``args`` are full of them); with one, the head is not cut (``False``)."""
    if "\\" not in head:
        return not head.count('"') % 2
    if "\\\\" in head:
        return False
    return not (head.count('"') - head.count('\\"')) % 2


class _Piece:
    """A piece of JSON text masked alone: its shape, and the values its references stand for.

    A piece is masked with its references from ``offset`` (its ``base``), where it is first
    attached: the last piece of a rest is masked after the values of the one before, so its
    shape needs no renumbering. Its shapes after other references are made when needed."""

    __slots__ = ("_distinct", "base", "kinds", "shapes", "split", "values")

    def __init__(self, shape: str, kinds: list[str], values: list[Any], offset: int = 0) -> None:
        self.kinds = kinds
        self.values = values
        self._distinct: frozenset[Any] | None = None  # made when first needed
        self.base = (offset, shape) if values else (0, shape)
        # by what it is attached after: the number of values before it, or (values shared
        # with them) the references its own stand for
        self.shapes: dict[Any, str] = {self.base[0]: shape}
        self.split: tuple[list[str], list[int]] | None = None  # made on the first other shape

    @property
    def distinct(self) -> frozenset[Any]:
        """Its values, as a set."""
        if self._distinct is None:
            self._distinct = frozenset(self.values)
        return self._distinct

    def attach(self, refs: _Refs) -> str:
        """This piece's shape with its values registered in ``refs`` after what is there."""
        values = self.values
        if not values:
            return self.base[1]
        before = refs.values
        offset = len(before)
        if not before:  # the usual first piece with values
            before.extend(values)
            refs.kinds.extend(self.kinds)
            key: Any = 0
        elif refs.local is None and self.distinct.isdisjoint(before):
            before.extend(values)  # no value shared with the head: references shift by offset
            refs.kinds.extend(self.kinds)
            key = offset
        else:
            key = tuple(refs.ref(k, v, True) for k, v in zip(self.kinds, values, strict=True))
        shape = self.shapes.get(key)
        if shape is None:
            shape = self._renumbered(key)
        return shape

    def at(self, offset: int) -> str:
        """Its shape after ``offset`` values that are none of its own."""
        if not self.values:
            return self.base[1]
        shape = self.shapes.get(offset)
        if shape is None:
            shape = self._renumbered(offset)
        return shape

    def _renumbered(self, key: int | tuple[str, ...]) -> str:
        """Its shape after ``key`` values, or with its references replaced by ``key``'s."""
        if self.split is None:  # the shape cut at its references, which are numbered
            base, base_shape = self.base  # by their value's position in the piece
            parts = _REF.split(base_shape)
            self.split = (parts, [int(number) - base for number in parts[1::2]])
        parts, positions = self.split
        parts = parts.copy()
        if isinstance(key, int):
            parts[1::2] = [_ref(position + key) for position in positions]
        else:
            parts[1::2] = [key[position] for position in positions]
        shape = self.shapes[key] = "".join(parts)
        return shape


_HEADS_KEPT = 4  # remembered heads of tails per masker (a stream's runs and subgraphs)


class _Head:
    """The first key/value pairs of a rest's tail, masked, that later tails start with; the
    number of the last masking step that met a value in them (-1: none)."""

    __slots__ = ("last", "piece", "text")

    def __init__(self, text: str, piece: _Piece, last: int) -> None:
        self.text = text
        self.piece = piece
        self.last = last


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
        self._pieces: dict[str, _Piece | None] = {}  # repeated JSON pieces, masked (_text)
        self._rests: dict[str, Any] = {}  # the last two pieces together (_text)
        # the rest met last, with its masking: a message's tokens come one after another, so
        # comparing the text's end with it (a memcmp) usually spares hashing the rest
        self._last_rest: tuple[str, Any] = ("", _NO_PIECES)
        self._firsts: dict[str, str] = {}  # first pieces that mask to no reference (tokens)
        self._heads: list[_Head] = []  # heads of recent tails (_after_head), the last first
        self._last_tail = ""  # the last new tail, for the head the next one shares with it

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
            text = text.replace(_OPEN, _OPEN_ESCAPED)
        for guard, apply in self._compiled.plain_steps:
            if guard in text:
                text = apply(text, refs)
        return text

    def _sse_id(self, event_id: str, refs: _Refs) -> str:
        """A frame's SSE id: whole, when an SSE id rule matches it, else through the patterns."""
        rule = self._compiled.sse_ids.rule(event_id)
        if rule is not None:
            return refs.ref(rule[0], event_id, rule[1])
        return self._plain(event_id, refs)

    def _json(self, text: str, refs: _Refs) -> str:
        if _OPEN in text:
            text = text.replace(_OPEN, _OPEN_ESCAPED)
        compiled = self._compiled
        if not compiled.structural:
            mark = len(refs.values)
            masked = self._text(text, refs)
            if not refs.structural:
                return masked
            refs.truncate(mark)  # a key rule met an object: start again on the parsed JSON
        refs.structural = True
        return self._structural(text, refs)

    def _text(self, text: str, refs: _Refs) -> str:
        """The text passes over raw JSON (``refs.structural`` set when the frame needs its
        parsed JSON instead).

        Big JSON texts are masked in up to three pieces, cut outside strings: the first
        string value with what precedes it (``[{"content":"<token>",``), the rest of that
        element, and the last element of the array after a ``,{"``. LangGraph's ``messages``
        frames repeat the last two for every token of a message (the message's other fields,
        the run's metadata), so their masking is remembered. No value can span a cut (each
        is after a ``,`` that follows a string or precedes an object), so the pieces mask as
        the whole would; their references are numbered piece by piece, for every text alike.
        The last two are also remembered together, as the rest after the first piece. A new
        last piece (a run's metadata at a new step) is masked after the head it shares with
        an earlier one, masked once (``_tail``).
        """
        if ',{"' not in text:  # no piece to cut (an updates frame): ``_in_pieces`` would
            return self._passes(text, refs)  # mask it whole, after looking for one
        start = text.find('",') + 2
        if start >= 2:
            first = text[:start]
            if _outside_strings(first):
                last_text, rest = self._last_rest
                if len(text) - start != len(last_text) or not text.endswith(last_text):
                    rests = self._rests
                    rest_text = text[start:]
                    rest = rests.get(rest_text, _UNSEEN)
                    if rest is _UNSEEN:
                        if len(rests) >= _PIECES_KEPT:
                            rests.clear()
                        rest = rests[rest_text] = self._rest(rest_text)
                    self._last_rest = (rest_text, rest)
                if rest is None:  # a piece needs the parsed JSON: so does the whole
                    refs.structural = True
                    return text
                if rest is not _NO_PIECES:
                    masked = self._firsts.get(first)
                    if masked is None:
                        mark = len(refs.values)
                        masked = self._passes(first, refs)
                        if refs.structural:
                            return text
                        # nothing masked in it: remember it (not a reference to a value the
                        # frame met before it, in its event name: another frame's differs)
                        if len(refs.values) == mark and _OPEN not in masked:
                            if len(self._firsts) >= _FIRSTS_KEPT:
                                self._firsts.clear()
                            self._firsts[first] = masked
                    attached: str = rest.attach(refs)
                    return masked + attached
        return self._in_pieces(text, refs)

    def _rest(self, rest: str) -> Any:
        """What follows the first piece, as one piece made of the other two (attached in
        their order); ``_NO_PIECES`` when that is not how the text is cut."""
        cut = rest.rfind(',{"') + 1
        if cut < _PIECE_MIN or len(rest) - cut < _PIECE_MIN:
            return _NO_PIECES
        middle = rest[:cut]
        if not _outside_strings(middle):
            return _NO_PIECES
        # The middle (the message's other fields: its id) is new with the rest, so it is
        # masked in place, not kept as a piece; the tail (the run's metadata) is kept, masked
        # after the middle's values: attached there, it is not renumbered.
        refs = _Refs()
        shape = self._passes(middle, refs)
        if refs.structural:
            return None
        tail_piece = self._tail(rest[cut:], len(refs.values))
        if tail_piece is None:
            return None
        shape += tail_piece.attach(refs)
        return _Piece(shape, refs.kinds, refs.values)

    def _tail(self, tail: str, offset: int) -> _Piece | None:
        """The last piece of a rest (a run's metadata), remembered like any piece; when new,
        masked after the head it shares with a recent tail, when that masks as the whole
        would (see ``_after_head``)."""
        found: _Piece | None = self._pieces.get(tail, _UNSEEN)
        if found is _UNSEEN:
            found = self._after_head(tail, offset)
            self._last_tail = tail
            if found is _UNSEEN:
                return self._piece(tail, offset)
            self._remember(tail, found)
        return found

    def _after_head(self, tail: str, offset: int) -> Any:
        """A new tail masked as a remembered head (its first key/value pairs, cut before a
        ``,"`` outside strings) and what follows, at ``offset``; ``_UNSEEN`` when it has no
        head or that would not mask as the whole does.

        A run's metadata changes from tail to tail in a few fields (the step, the node, the
        task id) after a head that stays (the graph, assistant, run and thread ids): the head
        is masked once. The two parts mask as the whole would when no value spans the cut
        (no value holds a ``,"``), when no pass whose work depends on more than where it
        matches (``_Compiled.unsplit_guards``) runs on the head, nor one guarded by a word out
        of its match (``loose_guards``) on what follows, and when no value after the head is
        met by an earlier step than one that met the head's (or by the same step, when that
        runs two passes): then the references come in the same order.
        """
        head: _Head | None = None
        for known in self._heads:
            if tail.startswith(known.text):
                head = known
                break
        else:
            head = self._new_head(tail)
            if head is None:
                return _UNSEEN
        following = tail[len(head.text) :]
        for guard in self._compiled.loose_guards:
            if guard in following:
                return _UNSEEN  # a word that would let a rule mask in the head too
        piece = head.piece
        mark = offset + len(piece.values)
        after = _Refs.padded(mark)
        after_shape, first, _ = self._passes_tracked(following, after)
        if after.structural:
            return None
        if first >= 0 and (
            first < head.last or (first == head.last and first in self._compiled.shared_steps)
        ):
            return _UNSEEN  # a value after the head met before one of the head's
        kinds, values = piece.kinds, piece.values
        if len(after.values) > mark:
            if not piece.distinct.isdisjoint(after.values[mark:]):
                return _UNSEEN
            kinds = kinds + after.kinds[mark:]
            values = values + after.values[mark:]
        return _Piece(piece.at(offset) + after_shape, kinds, values, offset)

    def _new_head(self, tail: str) -> _Head | None:
        """The head a new tail shares with the last one, masked and remembered (``None``:
        none worth it, or one that would not mask as the whole does)."""
        last = self._last_tail
        if not tail.startswith(last[:_PIECE_MIN]) or len(last) < _PIECE_MIN:
            return None  # a head would be shorter than a piece is worth
        same, end = _PIECE_MIN, min(len(tail), len(last))  # their common prefix, by bisection
        while same < end:
            middle = (same + end + 1) // 2
            if tail[same:middle] == last[same:middle]:
                same = middle
            else:
                end = middle - 1
        cut = tail.rfind(',"', 0, same) + 1
        if cut < _PIECE_MIN:
            return None
        text = tail[:cut]
        if not _outside_strings(text) or any(g in text for g in self._compiled.unsplit_guards):
            return None
        refs = _Refs()
        shape, _, last_step = self._passes_tracked(text, refs)
        if refs.structural:
            return None
        head = _Head(text, _Piece(shape, refs.kinds, refs.values), last_step)
        self._heads.insert(0, head)
        del self._heads[_HEADS_KEPT:]
        return head

    def _in_pieces(self, text: str, refs: _Refs) -> str:
        cut = text.rfind(',{"') + 1
        if not cut or len(text) - cut < _PIECE_MIN:
            return self._passes(text, refs)
        head = text[:cut]
        if not _outside_strings(head):  # the cut is in a string (or may be)
            return self._passes(text, refs)
        pieces = self._pieces
        tail: _Piece | None = pieces.get(text[cut:], _UNSEEN)
        if tail is _UNSEEN:
            tail = self._piece(text[cut:])
        if tail is None:  # the last element needs the parsed JSON: so does the whole
            refs.structural = True
            return text
        middle: _Piece | None = None
        start = head.find('",') + 2
        if start >= 2 and len(head) - start >= _PIECE_MIN and _outside_strings(head[:start]):
            middle = pieces.get(head[start:], _UNSEEN)
            if middle is _UNSEEN:
                middle = self._piece(head[start:])
            if middle is None:
                refs.structural = True
                return text
            head = head[:start]
        masked = self._passes(head, refs)
        if refs.structural:
            return text
        if middle is not None:
            masked += middle.attach(refs)
        return masked + tail.attach(refs)

    def _passes(self, text: str, refs: _Refs) -> str:
        for guard, apply in self._compiled.text_steps:
            if guard in text:  # a substring test is far cheaper than a regex scan
                text = apply(text, refs)
        return text

    def _passes_tracked(self, text: str, refs: _Refs) -> tuple[str, int, int]:
        """``_passes``, with the first and the last step that met a new value (-1: none)."""
        first = last = -1
        values = refs.values
        met = len(values)
        for number, (guard, apply) in self._compiled.numbered_steps:
            if guard in text:
                text = apply(text, refs)
                if len(values) != met:
                    met = len(values)
                    last = number
                    if first < 0:
                        first = number
        return text, first, last

    def _piece(self, piece: str, offset: int = 0) -> _Piece | None:
        """A piece of JSON text masked alone, remembered (``None``: it needs the parsed JSON);
        when new, masked with its references from ``offset``."""
        found: _Piece | None = self._pieces.get(piece, _UNSEEN)
        if found is _UNSEEN:
            refs = _Refs.padded(offset)
            shape = self._passes(piece, refs)
            found = None
            if not refs.structural:
                found = _Piece(shape, refs.kinds[offset:], refs.values[offset:], offset)
            self._remember(piece, found)
        return found

    def _remember(self, text: str, piece: _Piece | None) -> None:
        """Keep a piece's masking (a stream repeats a few pieces at a time: when many are
        kept, they are forgotten at once)."""
        if len(self._pieces) >= _PIECES_KEPT:
            self._pieces.clear()
        self._pieces[text] = piece

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
                if key_rule is None and compiled.key_prefixes:
                    key_rule = next(
                        (r for p, r in compiled.key_prefixes if key.startswith(p)), None
                    )
                if key_rule is not None and _key_rule_masks(key_rule, item):
                    result[masked_key] = self._whole(item, refs, key_rule.kind, key_rule.numbered)
                    continue
                call = compiled.tool_call
                if (
                    call is not None
                    and key in TOOL_CALL_ID_KEYS
                    and isinstance(item, str)
                    and _TOOL_CALL_ID.fullmatch(item)
                ):  # an id position: any tool-call id shape, as the text pass reads it
                    result[masked_key] = refs.ref(call.kind, item, call.numbered)
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
