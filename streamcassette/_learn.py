"""Learning noise: the values that differ between two recordings of the same requests.

Given two recordings that should be equal, every path whose values differ and that the rules
do not already mask becomes a path rule (list indices generalised to ``[*]``); SSE ids that
are integers rising through both streams (the JavaScript server's frame numbers, shifted by a
frame more or less) become an SSE id rule. The rules are
checked by diffing the recordings again with them: after learning the recordings compare equal,
while a real behaviour change (a node that ran in one only, a different event) cannot be learned
and is reported instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

import orjson

from ._cassette import Cassette
from ._config import dump_mask_table
from ._diff import Change, Difference, diff_cassettes
from ._mask_rules import ORDINAL_ID_MATCH, MaskRules, PathRule, SseIdRule

__all__ = ["LearnedPath", "Learning", "learn_rules"]

_EVERYTHING = ("*",)  # every event of every mode
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NUMBERED = re.compile(r"<([A-Za-z_][A-Za-z0-9_.-]*):(?:live-)?[0-9]+(?:, live)?>")
_ROUNDS = 4  # learn, check, learn what is left (a link), check again


@dataclass(frozen=True)
class LearnedPath:
    """A path whose values differ between the recordings, and an example of the difference."""

    rule: PathRule | SseIdRule
    example: str  # "frame 3, node 'agent': ...: 'a' -> 'b'"


@dataclass
class Learning:
    """What :func:`learn_rules` found."""

    base: MaskRules
    learned: list[LearnedPath] = field(default_factory=list)
    remaining: list[Difference] = field(default_factory=list)  # not noise: behaviour

    @property
    def rules(self) -> MaskRules:
        """The base rules plus the learned ones."""
        return self.base.with_rules(learned.rule for learned in self.learned)

    @property
    def equal(self) -> bool:
        """Whether the recordings compare equal with the learned rules."""
        return not self.remaining

    def to_toml(self) -> str:
        """A ``[tool.streamcassette.mask]`` table with the learned rules, commented."""
        lines = ["# Learned by `streamcassette learn`: values that differ between two recordings"]
        lines += ["# of the same requests. Keep the paths that are really noise."]
        for learned in self.learned:
            target = learned.rule.path if isinstance(learned.rule, PathRule) else "(id)"
            lines.append(f"#   {target}: {learned.example}")
        return "\n".join(lines) + "\n" + dump_mask_table(self.rules.to_config())


def learn_rules(first: Cassette, second: Cassette, rules: MaskRules | None = None) -> Learning:
    """Path rules that mask every value differing between two recordings of the same requests
    (in every mode), on top of ``rules`` (the defaults when None)."""
    base = rules if rules is not None else MaskRules.default()
    learning = Learning(base)
    by_glob: dict[str, PathRule] = {}
    for _ in range(_ROUNDS):
        report = diff_cassettes(first, second, modes=_EVERYTHING, rules=learning.rules)
        remaining: list[Difference] = []
        learned_now = False
        this_round: set[str] = set()
        # A link that breaks while other values still differ (or a learned rule still links
        # values it should not) may only follow from them: a frame that differs links its new
        # values differently. Those first; a new path for the link only if it still breaks.
        values_differ = any(
            change.parts is not None
            and (not _breaks_link(change) or _glob(_maskable(change)) in by_glob)
            for difference in report.differences
            if difference.kind == "frame_changed"
            for change in difference.changes
        )
        for difference in report.differences:
            if difference.kind != "frame_changed":
                remaining.append(difference)  # a frame or stream on one side only: behaviour
                continue
            unlearnable = False
            for change in difference.changes:
                if (
                    values_differ
                    and _breaks_link(change)
                    and change.parts is not None
                    and _glob(_maskable(change)) not in by_glob
                ):
                    learned_now = True  # look again in the next round
                    continue
                glob = _glob(_maskable(change)) if change.parts is not None else ""
                if not glob:  # the event name, the SSE id, or the whole frame
                    unlearnable = True
                    continue
                if glob in this_round:
                    continue
                existing = by_glob.get(glob)
                if existing is None:
                    rule = PathRule(glob)
                    example = f"{difference.message}: {change.describe()}"
                    learning.learned.append(LearnedPath(rule, example))
                elif existing.numbered:
                    # Still differs although masked: a value the two recordings link
                    # differently (a random value reused). Mask it without a number.
                    rule = PathRule(glob, existing.kind, numbered=False)
                    learning.learned = [
                        LearnedPath(rule, item.example)
                        if isinstance(item.rule, PathRule) and item.rule.path == glob
                        else item
                        for item in learning.learned
                    ]
                else:
                    unlearnable = True
                    continue
                by_glob[glob] = rule
                this_round.add(glob)
                learned_now = True
            if unlearnable:
                remaining.append(difference)
        shift = _ordinal_shift(remaining)
        if shift is not None and not any(r.rule == shift.rule for r in learning.learned):
            learning.learned.append(shift)
            remaining = [d for d in remaining if not _only_id_changes(d)]
            learned_now = True
        learning.remaining = remaining
        if not learned_now:
            break
    else:  # the last round learned something: check it
        report = diff_cassettes(first, second, modes=_EVERYTHING, rules=learning.rules)
        learning.remaining = report.differences
    return learning


def _breaks_link(change: Change) -> bool:
    """Whether the change is a masked value linked differently in the two recordings (the
    diff's "link broken" note), rather than a value that differs."""
    return change.note is not None and change.note.startswith("link broken")


def _only_id_changes(difference: Difference) -> bool:
    return difference.kind == "frame_changed" and all(
        change.path == "(id)" for change in difference.changes
    )


def _ordinal_shift(differences: Sequence[Difference]) -> LearnedPath | None:
    """An SSE id rule, when the SSE ids that differ are integers rising through both streams:
    frame numbers shifted by a frame more or less earlier on, not behaviour."""
    pairs: list[tuple[int, int]] = []
    example = ""
    for difference in sorted(differences, key=lambda d: d.recorded_frame or 0):
        for change in difference.changes:
            if change.path != "(id)":
                continue
            ours, theirs = change.recorded, change.live
            if not (isinstance(ours, str) and ours.isdigit()):
                return None
            if not (isinstance(theirs, str) and theirs.isdigit()):
                return None
            pairs.append((int(ours), int(theirs)))
            example = example or f"{difference.message}: {change.describe()}"
    if not pairs:
        return None
    rising = all(a[0] < b[0] and a[1] < b[1] for a, b in pairwise(pairs))
    return LearnedPath(SseIdRule(ORDINAL_ID_MATCH), example) if rising else None


def _maskable(change: Change) -> Sequence[str | int]:
    """Where a mask makes the two values equal: the value itself, or, when a key or an item
    exists on one side only, the object or list that holds it."""
    assert change.parts is not None
    if change.change == "changed":
        return change.parts
    return change.parts[:-1]


def _glob(parts: Sequence[str | int]) -> str:
    """A path glob for a data path: list indices become ``[*]``, masked keys ``<kind>``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += "[*]"
            continue
        key = _NUMBERED.sub(r"<\1>", part)
        if _IDENTIFIER.match(key):
            text += f".{key}" if text else key
        else:
            text += f"[{orjson.dumps(key).decode()}]"
    return text
