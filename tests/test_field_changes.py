"""Field changes of two JSON values: DeepDiff's report of the whole, from DeepDiff run on the
parts that differ only."""

from __future__ import annotations

import copy
from typing import Any

from deepdiff import DeepDiff
from deepdiff.helper import NotPresent
from hypothesis import given, settings
from hypothesis import strategies as st

from streamcassette._field_changes import field_changes

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-2, 2)
    | st.sampled_from([0.0, 1.0, 1.5])
    | st.sampled_from(["", "x", "y", "call_x"])
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from("abcd"), inner),
    max_leaves=14,
)


def whole(ours: Any, theirs: Any) -> list[tuple[str, str, str, str]]:
    """DeepDiff of the two values at once, as comparable rows."""
    rows = []
    for report_type, levels in DeepDiff(ours, theirs, view="tree", verbose_level=2).items():
        for level in levels:
            old = None if isinstance(level.t1, NotPresent) else level.t1
            new = None if isinstance(level.t2, NotPresent) else level.t2
            rows.append((report_type, repr(level.path(output_format="list")), repr(old), repr(new)))
    return sorted(rows)


def by_parts(ours: Any, theirs: Any) -> list[tuple[str, str, str, str]]:
    changes = field_changes(ours, theirs)
    return sorted((kind, repr(path), repr(old), repr(new)) for kind, path, old, new in changes)


@settings(max_examples=500, deadline=None)
@given(_json, _json)
def test_field_changes_are_deepdiffs_of_the_whole(ours: Any, theirs: Any) -> None:
    assert by_parts(ours, theirs) == whole(ours, theirs)


@settings(max_examples=300, deadline=None)
@given(_json, st.data())
def test_field_changes_of_a_value_and_its_edit(ours: Any, data: st.DataObject) -> None:
    """A value against itself with one part replaced (what two recordings of one agent look
    like): the same report as DeepDiff of the whole."""
    theirs = copy.deepcopy(ours)
    holder, key = _somewhere(theirs, data)
    if holder is None:
        theirs = data.draw(_json)
    else:
        holder[key] = data.draw(_json)
    assert by_parts(ours, theirs) == whole(ours, theirs)


def _somewhere(value: Any, data: st.DataObject) -> tuple[Any, Any]:
    """A container in ``value`` and one of its keys or indices (None: the value itself)."""
    places: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        children = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in children:
            places.append((node, key))
            if isinstance(child, (dict, list)):
                walk(child)

    if isinstance(value, (dict, list)):
        walk(value)
    if not places:
        return None, None
    return data.draw(st.sampled_from(places))


def test_a_messages_frames_changed_argument_is_one_change() -> None:
    """Two ``messages`` frames (a chunk and the run's metadata) that differ in a tool call's
    argument: one change, at its full path."""
    meta = {"run_id": "<uuid:1>", "langgraph_step": 1, "langgraph_node": "agent"}
    chunk = {"name": None, "args": '{"query":"la"}', "id": None, "index": 0}
    ours = [{"content": "", "type": "AIMessageChunk", "tool_call_chunks": [chunk]}, meta]
    theirs = copy.deepcopy(ours)
    theirs[0]["tool_call_chunks"][0]["args"] = '{"query":"town"}'
    assert list(field_changes(ours, theirs)) == [
        ("values_changed", [0, "tool_call_chunks", 0, "args"], chunk["args"], '{"query":"town"}')
    ]
    assert by_parts(ours, theirs) == whole(ours, theirs)
