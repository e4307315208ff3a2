"""New tails of ``messages`` frames (a run's metadata that changes from step to step) are
masked after a remembered head they share with an earlier tail; the table that makes must be
the one that masking every frame on its own makes."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_mask_tokens import RULES, reference_rows, table_rows, token_frame

from streamcassette import Masker, RecordedFrame
from streamcassette._masked import _mask_frames

_IDS = [str(uuid.UUID(int=n)) for n in range(1, 4)]
_HEX = "0123456789abcdef0123456789abcdef"
_values = st.sampled_from(
    [
        *_IDS,
        f"agent:{_IDS[0]}",
        "call_abcdefghijklmnopqrstuvwx",  # a provider's tool-call id
        "call_x1",  # a short one: masked where it is an id, and where it recurs as a word
        "toolu_01abcdefghijklmnopqrstuv",
        _HEX,  # an interrupt id, under "id"
        "2026-01-02T03:04:05Z",
        "http://127.0.0.1:50001",
        "interrupt",  # the word that lets the interrupt-id rules run
        "plain",
    ]
)
_keys = st.sampled_from(
    ["id", "interrupt_id", "tool_call_id", "run_id", "langgraph_api_url", "langgraph_node", "note"]
)
_pairs = st.lists(st.tuples(_keys, _values), max_size=4)


def tail_frames(
    head: list[tuple[str, str]], after: list[tuple[str, str]], plan: list[int], token: str
) -> list[bytes]:
    """Token frames whose metadata keeps a head (``head``'s pairs, then padding) and changes
    after it (the step, then ``after``'s pairs) when ``plan`` says so."""
    raws: list[bytes] = []
    step = 0
    for change in plan:
        step += change
        meta: dict[str, Any] = {"created_by": "system"}
        for number, (key, value) in enumerate(head):
            meta[f"{key}{number}" if key == "note" else key] = value
        meta["pad"] = "p" * 120
        meta["langgraph_step"] = step
        for key, value in after:
            meta.setdefault(key, value)
            meta[f"{key}_after"] = value
        raws.append(token_frame(token, f"lc_run--{uuid.UUID(int=99)}", meta))
    return raws


@settings(max_examples=300, deadline=None)
@given(
    head=_pairs,
    after=_pairs,
    plan=st.lists(st.sampled_from([0, 1, 1, 2]), min_size=2, max_size=8),
    token=st.sampled_from(["the ", "call_x1 ", _IDS[1], ""]),
    rules=st.sampled_from(sorted(RULES)),
)
# a short tool-call id in the head's id position, recurring as a word after it
@example([("id", "call_x1")], [("note", "call_x1")], [1, 1, 1], "the ", "default")
# an interrupt id in the head, the word that lets its rule run after it; and the other way
@example([("id", _HEX)], [("note", "interrupt")], [1, 1, 1], "the ", "default")
@example([("note", "interrupt")], [("id", _HEX)], [1, 1, 1], "the ", "default")
# a value of a key rule (a pass before the ids') after the head's ids
@example([("run_id", _IDS[0])], [("langgraph_node", "agent")], [1, 1, 1], "the ", "user")
# the head's id again after it
@example([("run_id", _IDS[0])], [("note", _IDS[0])], [1, 1, 1], "the ", "default")
def test_new_tails_after_a_remembered_head_mask_as_each_frame_alone(
    head: list[tuple[str, str]],
    after: list[tuple[str, str]],
    plan: list[int],
    token: str,
    rules: str,
) -> None:
    """Tails that share a head with tool-call ids, interrupt ids, ids and constants on either
    side mask, reference for reference, as each frame masked alone by a fresh masker."""
    raws = tail_frames(head, after, plan, token)
    assert table_rows(raws, RULES[rules]) == reference_rows(raws, RULES[rules])


def test_a_run_s_tails_share_one_masked_head() -> None:
    """The metadata of a run's steps is masked from one remembered head (its ids), and each
    step's frame still reads as it does alone."""
    raws = tail_frames([("run_id", _IDS[0]), ("id", _IDS[1])], [], [1, 1, 1, 1], "the ")
    masker = Masker()
    _mask_frames([RecordedFrame(0.0, raw) for raw in raws], masker)
    assert len(masker._heads) == 1
    assert masker._heads[0].text.endswith('"pad":"' + "p" * 120 + '",')
    assert len(masker._heads[0].piece.values) == 2  # the run id and the other id, masked once
    assert table_rows(raws, None) == reference_rows(raws, None)


def test_a_tail_is_not_cut_inside_a_string() -> None:
    """Where two tails part right after a string that ends with a comma (``"q,"``), the
    ``,"`` there closes the string: no head is cut at it, and the value is masked whole."""
    meta = {"created_by": "system", "pad": "p" * 120, "langgraph_api_url": "q,"}
    plan = [meta, {**meta, "step": 2}, {**meta, "step": 3}]
    raws = [token_frame("the ", f"lc_run--{uuid.UUID(int=99)}", one) for one in plan]
    rows = table_rows(raws, None)
    assert rows == reference_rows(raws, None)
    assert all('"langgraph_api_url":"<api_url>"' in (row[1][2] or "") for row in rows)
