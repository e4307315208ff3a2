"""Field by field differences of two JSON values, as DeepDiff reports them.

DeepDiff builds a report object for every node it visits, changed or not: on a ``messages``
frame (a message and the run's metadata) that is most of a millisecond for one changed
field. It is given only the parts that differ instead, found by descending where DeepDiff
itself compares part by part, so the report is the one DeepDiff makes of the whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

__all__ = ["field_changes"]

# what DeepDiff compares as a whole sequence (difflib) when a list holds nothing else
_BASIC = (str, int, float, bool, type(None))


def field_changes(ours: Any, theirs: Any) -> Iterator[tuple[str, list[Any], Any, Any]]:
    """``(report type, path, old, new)`` for each difference DeepDiff reports between two
    JSON values (``view="tree"``): ``values_changed``, ``type_changes``,
    ``dictionary_item_added``, ``iterable_item_removed``, ...; ``old`` or ``new`` is None for
    what one side lacks. Paths are lists of keys and indices."""
    # Imported here: only explaining a difference needs DeepDiff, and `streamcassette play`
    # (the demo installs no DeepDiff) imports the diff.
    from deepdiff import DeepDiff
    from deepdiff.helper import NotPresent

    for at, mine, yours in _differing_parts(ours, theirs, []):
        tree = DeepDiff(mine, yours, view="tree", verbose_level=2)
        for report_type, levels in tree.items():
            for level in levels:
                old = None if isinstance(level.t1, NotPresent) else level.t1
                new = None if isinstance(level.t2, NotPresent) else level.t2
                yield report_type, at + level.path(output_format="list"), old, new


def _differing_parts(ours: Any, theirs: Any, at: list[Any]) -> Iterator[tuple[list[Any], Any, Any]]:
    """The smallest pairs of parts that differ, with their paths: DeepDiff compares two dicts
    with the same keys key by key, and two lists of one length that hold a dict or a list
    index by index (a list of strings and numbers it compares as a sequence, as a whole), so
    a part that is equal on both sides adds nothing to its report."""
    if type(ours) is type(theirs):
        if isinstance(ours, dict) and ours.keys() == theirs.keys():
            for key, mine in ours.items():
                yours = theirs[key]
                if _differ(mine, yours):
                    yield from _differing_parts(mine, yours, [*at, key])
            return
        if (
            isinstance(ours, list)
            and len(ours) == len(theirs)
            and not (_all_basic(ours) and _all_basic(theirs))
        ):
            for index, (mine, yours) in enumerate(zip(ours, theirs, strict=True)):
                if _differ(mine, yours):
                    yield from _differing_parts(mine, yours, [*at, index])
            return
    yield at, ours, theirs


def _differ(ours: Any, theirs: Any) -> bool:
    """Whether two JSON values differ as DeepDiff tells them apart: ``1`` and ``1.0``, or
    ``true`` and ``1``, differ (Python's ``==`` says they do not); the same keys in another
    order do not differ for DeepDiff, but are told apart here (their parts are compared)."""
    if ours is theirs:
        return False
    try:
        return orjson.dumps(ours) != orjson.dumps(theirs)
    except orjson.JSONEncodeError:  # not JSON (an integer past 64 bits): let DeepDiff tell
        return True


def _all_basic(values: list[Any]) -> bool:
    return all(isinstance(value, _BASIC) for value in values)
