"""The token path of stream masking: a ``messages`` frame that repeats the frame before it but
for its token is masked from the bytes it shares with it; the table it makes must be the one
that masking every frame on its own makes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamcassette import (
    KeyRule,
    Masker,
    MaskRules,
    PathRule,
    PatternRule,
    RecordedFrame,
    SseIdRule,
)
from streamcassette._alias import _Refs, _reindex
from streamcassette._masked import _mask_frames
from streamcassette._sse import event_fields

# (the frame's position, its event name as sent), its masked key, its values
Row = tuple[
    tuple[int, str | None], tuple[str | None, str | None, str | None], list[tuple[str, Any]]
]


def reference_rows(
    raws: list[bytes], rules: MaskRules | None, events: Callable[[str], bool] | None = None
) -> list[Row]:
    """Each frame masked on its own, by a masker of its own (nothing remembered from other
    frames): event, data, then id, into one frame's references."""
    rows: list[Row] = []
    for index, raw in enumerate(raws):
        masker = Masker(rules)
        fields = event_fields(raw)
        if fields is None:
            continue
        event, data, event_id = fields
        if events is not None and not events(event or "message"):
            continue
        refs = _Refs()
        shapes: tuple[str | None, ...] = (
            None if event is None else masker._plain(event, refs),
            None if data is None else masker._json(data, refs),
            None if event_id is None else masker._sse_id(event_id, refs),
        )
        kinds, values = refs.kinds, refs.values
        if refs.structural:
            shapes, kinds, values = _reindex(shapes, kinds, values)  # type: ignore[assignment]
        event_shape, data_shape, id_shape = shapes
        key = (event_shape, id_shape, data_shape)
        rows.append(((index, event), key, list(zip(kinds, values, strict=True))))
    return rows


def table_rows(
    raws: list[bytes], rules: MaskRules | None, events: Callable[[str], bool] | None = None
) -> list[Row]:
    table = _mask_frames([RecordedFrame(0.0, raw) for raw in raws], Masker(rules), events)
    return [
        (
            (table.indices[row], table.names[row]),
            table.key(row),
            list(zip(table.row_kinds(row), table.row_values(row), strict=True)),
        )
        for row in range(len(table))
    ]


def token_frame(
    token: str, message_id: str, meta: dict[str, Any], event: str = "messages", **kw: Any
) -> bytes:
    chunk = {
        "content": token,
        "additional_kwargs": {},
        "response_metadata": {},
        "type": "AIMessageChunk",
        "name": None,
        "id": message_id,
        "tool_call_chunks": kw.get("chunks", []),
    }
    data = json.dumps([chunk, meta], ensure_ascii=False, separators=(",", ":"))
    newline: str = kw.get("newline", "\r\n")
    raw = f"event: {event}{newline}data: {data}{newline}"
    if kw.get("event_id") is not None:
        raw += f"id: {kw['event_id']}{newline}"
    return (raw + newline).encode()


def metadata(run_id: str, task_id: str, pad: int = 0) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "thread_id": str(uuid.UUID(int=7)),
        "langgraph_api_url": "http://127.0.0.1:50001",
        "langgraph_node": "agent",
        "langgraph_checkpoint_ns": f"agent:{task_id}",
        "created": "2026-01-02T03:04:05Z",
        "pad": "p" * pad,
    }


_tokens = st.one_of(
    st.sampled_from(["the ", "weather ", "is ", "café ", "🌤 ", "", " ", "72"]),
    st.text(st.sampled_from('ab ,{}"\\:-_\r\n\x91\x92\ue0000123456789'), max_size=10),
    st.uuids().map(str),  # an id in the text
    st.just("call_abcdefghijklmnopqrstuvwx"),
    st.sampled_from(["TASK", "agent:TASK "]),
)
_ids = st.one_of(
    st.none(),
    st.integers(0, 10**6).map(str),  # the JS server's ordinals (numbered)
    st.integers(0, 30).map(lambda seq: f"1795299470845-{seq}"),  # the Python server's
    st.sampled_from(["x", "-", "", "xé", "x1"]),
)
_frames = st.lists(
    st.tuples(
        st.sampled_from(
            ["token"] * 6
            + ["new message", "next step", "comment", "updates", "lf", "subgraph", "cr", "nl"]
        ),
        _tokens,
        _ids,
    ),
    min_size=1,
    max_size=40,
)
RULES = {
    "default": None,
    "user": MaskRules.default().extend(
        keys=[KeyRule("langgraph_node", "node")],
        paths=[PathRule("**.created", "created")],
        patterns=[PatternRule("weather", "word")],
    ),
    # SSE id rules that mask to a constant: the JS server's ordinals, then ids the token path
    # cannot test in bytes (``.`` is a character of the text, not a byte)
    "constant ids": MaskRules.default().extend(sse_ids=[SseIdRule("[0-9]+", "ordinal", False)]),
    "text ids": MaskRules.default().extend(
        sse_ids=[SseIdRule("x.", "one", False), SseIdRule("x..", "two", False)]
    ),
    # an SSE id rule that writes a digit out: ``17`` masks, ``27`` does not
    "digit ids": MaskRules.default()
    .without("sse_id")
    .extend(sse_ids=[SseIdRule("1[0-9]", "teen", False)]),
}


def stream_of(
    plan: list[tuple[str, str, str | None]], seed: int, newline: str = "\r\n"
) -> list[bytes]:
    """Frames as a server streams them: tokens of a message, a new message or step now and
    then, with comments, updates, frames with the other line ends, broken lines and a
    subgraph's tokens between. ``newline``: CRLF as the Python server ends lines, LF as the
    JavaScript server does."""
    ids = iter(uuid.UUID(int=seed * 1000 + n) for n in range(1000))
    run, message, task = str(next(ids)), f"lc_run--{next(ids)}", str(next(ids))
    raws: list[bytes] = []
    step = 1
    for what, token, event_id in plan:
        token = token.replace("TASK", task)  # a token naming the subgraph's task
        if what == "new message":
            message, task = f"lc_run--{next(ids)}", str(next(ids))
        step += what == "next step"  # the same message, its metadata's last value changed
        meta = {**metadata(run, task, pad=120), "step": step}
        eol = newline.encode()
        if what == "comment":
            raws.append(b": heartbeat" + eol + eol)
        elif what == "updates":
            update = {"agent": {"messages": [{"id": message, "content": token}]}}
            raws.append(b"event: updates" + eol + b"data: " + json.dumps(update).encode() + eol * 2)
        elif what == "subgraph":
            raw = token_frame(token, message, meta, f"messages|agent:{task}", event_id=event_id)
            raws.append(raw.replace(b"\r\n", eol))
        elif what in ("cr", "nl"):  # a line break unescaped in the token: not JSON, not SSE
            raw = token_frame(token, message, meta, event_id=event_id, newline=newline)
            broken = b"\r" if what == "cr" else b"\n"
            raws.append(raw.replace(b'[{"content":"', b'[{"content":"' + broken, 1))
        else:
            other = "\n" if newline == "\r\n" else "\r\n"
            ends = other if what == "lf" else newline
            raws.append(token_frame(token, message, meta, event_id=event_id, newline=ends))
    return raws


@settings(max_examples=400, deadline=None)
@given(
    plan=_frames,
    seed=st.integers(0, 3),
    rules=st.sampled_from(sorted(RULES)),
    newline=st.sampled_from(["\r\n", "\n"]),
)
def test_token_path_masks_as_each_frame_alone(
    plan: list[tuple[str, str, str | None]], seed: int, rules: str, newline: str
) -> None:
    raws = stream_of(plan, seed, newline)
    assert table_rows(raws, RULES[rules]) == reference_rows(raws, RULES[rules])


@settings(max_examples=60, deadline=None)
@given(plan=_frames, seed=st.integers(0, 3))
def test_token_path_honours_the_events_filter(
    plan: list[tuple[str, str, str | None]], seed: int
) -> None:
    raws = stream_of(plan, seed)

    def only_messages(name: str) -> bool:
        return name == "messages"

    assert table_rows(raws, None, only_messages) == reference_rows(raws, None, only_messages)


@pytest.mark.parametrize("subgraph", [False, True])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
@pytest.mark.parametrize("event_id", [None, "1795299470845-3", "17"])
def test_a_message_of_tokens_is_masked_once_not_per_token(
    event_id: str | None, newline: str, subgraph: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sixty tokens of one message drawn from five words, with CRLF or LF lines, at the root
    or in a subgraph: the masking passes run for the message's first frame and each word's
    first appearance, not for every token; the rows share one slice of values (but with the
    JS server's numbered ordinal ids)."""
    calls = 0
    original = Masker._text

    def counting(self: Masker, text: str, refs: _Refs) -> str:
        nonlocal calls
        calls += 1
        return original(self, text, refs)

    monkeypatch.setattr(Masker, "_text", counting)
    task = str(uuid.uuid4())
    meta = metadata(str(uuid.uuid4()), task, pad=120)
    message = f"lc_run--{uuid.uuid4()}"
    # a subgraph's tokens: the event names the task, which the metadata names too
    event = f"messages|agent:{task}" if subgraph else "messages"
    words = ["the ", "weather ", "is ", "sunny ", "today "]
    raws = [
        token_frame(words[n * 7 % 5], message, meta, event, event_id=event_id, newline=newline)
        for n in range(60)
    ]
    frames = [RecordedFrame(0.0, raw) for raw in raws]
    table = _mask_frames(frames, Masker())
    assert calls <= len(words) + 1
    assert len(table) == 60
    assert table_rows(raws, None) == reference_rows(raws, None)
    if event_id is None or "-" in event_id:
        assert len(set(zip(table.starts, table.ends, strict=True))) == 1


@pytest.mark.parametrize("between", ["comment", "updates"])
def test_a_frame_left_out_between_tokens_keeps_each_rows_frame_position(between: str) -> None:
    """A frame left out between a message's tokens on the token path (a heartbeat comment, an
    event the filter does not select) takes no row, and each token's row keeps its own
    frame's position."""
    plan: list[tuple[str, str, str | None]] = [
        ("token", word, "1795299470845-1") for word in ["the ", "a ", "the ", "a "]
    ]
    plan += [(between, "the ", None)]
    plan += [("token", word, "1795299470845-2") for word in ["the ", "a ", "the "]]
    raws = stream_of(plan, 0)

    def only_messages(name: str) -> bool:
        return name == "messages"

    rows = table_rows(raws, None, only_messages)
    assert rows == reference_rows(raws, None, only_messages)
    assert [position for (position, _), _, _ in rows] == [0, 1, 2, 3, 5, 6, 7]


@pytest.mark.parametrize("odd_byte", [b"", b"\xff", "é".encode()])
def test_a_new_rest_is_cut_from_its_frames_bytes_as_its_text_is(odd_byte: bytes) -> None:
    """A new rest's bytes (what tells the next frames are tokens of the message) are cut from
    the frame where its text was cut: with ASCII data, with a byte that is no UTF-8 (one
    character a byte still), with a multibyte character."""
    meta = metadata(str(uuid.UUID(int=1)), str(uuid.UUID(int=2)), pad=40)
    message = f"lc_run--{uuid.UUID(int=3)}"

    def token(word: str, event_id: str) -> bytes:
        raw = token_frame(word, message, meta, event_id=event_id)
        return raw.replace(b'"pad":"', b'"pad":"' + odd_byte, 1)

    raws = [token(word, f"1795299470845-{n}") for n, word in enumerate(["the ", "a ", "the "])]
    rows = table_rows(raws, None)
    assert rows == reference_rows(raws, None)
    shapes = [key[2] for _, key, _ in rows]
    assert shapes[0] == shapes[2] != shapes[1]


def test_a_rest_set_off_the_fast_path_is_not_taken_for_a_later_frames() -> None:
    """A frame whose data a stray CR ends early is read off the fast path, and its text
    still leaves a rest in the masker. The frame after it, which cuts no rest of its own,
    must not take that rest's length of its own bytes for it: the same frame again would
    then be masked as a token of that rest."""
    pad = "p" * 150
    cut_short = (
        f'event: messages\r\ndata: [{{"content":"x","id":"lc_run--{uuid.UUID(int=3)}",'
        f'"pad":"{pad}"}},{{"run_id":"{uuid.UUID(int=1)}","pad":"{pad}\rtail"}}]\r\n\r\n'
    ).encode()
    event, data, _ = event_fields(cut_short) or (None, None, None)
    assert event == "messages"
    assert data is not None
    assert data.endswith(pad)  # ended by the CR
    rest_length = len(data) - (data.find('",') + 2)
    # the same first piece, but no ',{"' after it (so no rest of its own), and as long a
    # text after it as that rest
    filler = "q" * (rest_length - len('"big":"') - len('"}]'))
    plain = f'event: messages\r\ndata: [{{"content":"x","big":"{filler}"}}]\r\n\r\n'.encode()
    raws = [cut_short, plain, plain]
    rows = table_rows(raws, None)
    assert rows == reference_rows(raws, None)
    assert rows[1][1] == rows[2][1]


@pytest.mark.parametrize("rules", ["default", "constant ids", "text ids"])
@pytest.mark.parametrize("event_id", ["xé", "x1", "17", "1795299470845-3"])
def test_token_ids_mask_as_their_text_does(rules: str, event_id: str) -> None:
    """The SSE ids of a message's tokens mask as each id's text does under any SSE id rules,
    though the token path tests them in the frame's bytes when it can (``xé`` is two
    characters for ``x.``, three bytes for ``x..``)."""
    meta = metadata(str(uuid.UUID(int=1)), str(uuid.UUID(int=2)), pad=120)
    message = f"lc_run--{uuid.UUID(int=3)}"
    raws = [token_frame("the ", message, meta, event_id=event_id) for _ in range(4)]
    rows = table_rows(raws, RULES[rules])
    assert rows == reference_rows(raws, RULES[rules])
    if rules == "text ids" and event_id == "xé":
        assert {row[1][1] for row in rows} == {"<one>"}


@pytest.mark.parametrize("rules", ["default", "digit ids", "constant ids", "text ids"])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_ids_of_frames_that_are_no_tokens_mask_as_their_text_does(rules: str, newline: str) -> None:
    """Frames that are no token (each an update of its own) have their SSE ids looked up by
    the frame's end with its digits made zeros, as tokens do, only under rules that cannot
    tell digits apart: ``17`` and ``27`` differ under a ``1[0-9]`` rule."""
    event_ids = ["17", "27", "17", "1795299470845-3", "1795299470846-13", "7", "x1", "xé", None]
    raws = [
        (
            f"event: updates{newline}data: {json.dumps({'agent': {'step': step}})}{newline}"
            + ("" if event_id is None else f"id: {event_id}{newline}")
            + newline
        ).encode()
        for step, event_id in enumerate(event_ids)
    ]
    rows = table_rows(raws, RULES[rules])
    assert rows == reference_rows(raws, RULES[rules])
    if rules == "digit ids":
        assert [row[1][1] for row in rows[:3]] == ["<teen>", "27", "<teen>"]


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_a_token_id_holding_a_nul_is_no_id(newline: str) -> None:
    """The SSE parser ignores an id that holds a NUL: so does the token path, for a token
    after one with a plain id."""
    meta = metadata(str(uuid.UUID(int=1)), str(uuid.UUID(int=2)), pad=120)
    message = f"lc_run--{uuid.UUID(int=3)}"
    event_ids = ["17", "1\x007", "18", "\x00", None]
    raws = [token_frame("the ", message, meta, event_id=i, newline=newline) for i in event_ids]
    rows = table_rows(raws, None)
    assert rows == reference_rows(raws, None)
    assert [row[1][1] is None for row in rows] == [False, True, False, True, True]


@pytest.mark.parametrize("rules", ["default", "digit ids"])
def test_token_ids_that_differ_in_their_digits_mask_each_as_its_text_does(rules: str) -> None:
    """The token path remembers how a frame ends by the end with its digits made zeros when
    the SSE id rules cannot tell digits apart (``<ms>-<seq>``, ordinals); a rule that
    writes a digit out (``1[0-9]``) masks ``17`` and not ``27``, so there it does not."""
    meta = metadata(str(uuid.UUID(int=1)), str(uuid.UUID(int=2)), pad=120)
    message = f"lc_run--{uuid.UUID(int=3)}"
    event_ids = ["17", "27", "17", "27", "1795299470845-3", "1795299470846-13", "7", "10"]
    raws = [token_frame("the ", message, meta, event_id=event_id) for event_id in event_ids]
    rows = table_rows(raws, RULES[rules])
    assert rows == reference_rows(raws, RULES[rules])
    if rules == "digit ids":
        assert [row[1][1] for row in rows[:4]] == ["<teen>", "27", "<teen>", "27"]


def test_a_token_naming_its_events_value_is_not_remembered_with_that_reference() -> None:
    """A subgraph's token that names the task id of its event (``messages|agent:<task>``)
    masks to a reference to that value; the same token in a root frame has no such value
    before it, and must not be given the first frame's reference."""
    plan: list[tuple[str, str, str | None]] = [
        ("subgraph", "TASK", None),
        ("token", "TASK", None),
        ("token", "TASK", "1795299470845-0"),
    ]
    raws = stream_of(plan, 0)
    rows = table_rows(raws, None)
    assert rows == reference_rows(raws, None)
    task = str(uuid.UUID(int=2))
    assert all(rows[n][2][0] == ("uuid", task) for n in (0, 1, 2))  # the token's value first


# Frames of any shape, some repeated, so that what the masker remembers across frames (first
# pieces, rests, pieces, event names) is used with other references before it.
_IDS = [str(uuid.UUID(int=n)) for n in range(1, 5)]
_values = st.one_of(
    st.sampled_from(_IDS),
    st.sampled_from(["call_abcdefghijklmnopqrstuvwx", "call_x", "", 'x"y', "2026-01-02T03:04:05Z"]),
    st.text(st.sampled_from('ab ,{}"\\:-_0123456789'), max_size=8),
)
_keys = st.sampled_from(["id", "content", "tool_call_id", "run_id", "langgraph_api_url", "x-a"])
_json = st.recursive(
    _values,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=8,
)
_any_frame = st.tuples(
    st.sampled_from(["messages", "updates", "custom", f"messages|agent:{_IDS[0]}"]),
    # pads of 120: pieces long enough to be cut and remembered
    st.lists(st.tuples(_json, st.sampled_from([0, 120])), min_size=1, max_size=3),
    st.sampled_from([None, "1795299470845-0", "7", _IDS[1]]),
    st.sampled_from(["\r\n", "\n"]),
)


def any_frame(event: str, parts: list[tuple[Any, int]], event_id: str | None, eol: str) -> bytes:
    elements = [
        {"content": value if isinstance(value, str) else "", "v": value, "pad": "p" * pad}
        for value, pad in parts
    ]
    data = json.dumps(elements, separators=(",", ":"), ensure_ascii=False)
    raw = f"event: {event}{eol}data: {data}{eol}"
    return (raw + (f"id: {event_id}{eol}" if event_id else "") + eol).encode()


@settings(max_examples=200, deadline=None)
@given(
    frames=st.lists(_any_frame, min_size=1, max_size=12),
    repeats=st.lists(st.integers(0, 11), max_size=20),
    rules=st.sampled_from(sorted(RULES)),
)
def test_nothing_remembered_across_frames_changes_a_frames_masking(
    frames: list[tuple[str, list[tuple[Any, int]], str | None, str]],
    repeats: list[int],
    rules: str,
) -> None:
    raws = [any_frame(*frame) for frame in frames]
    raws += [raws[position % len(raws)] for position in repeats]
    assert table_rows(raws, RULES[rules]) == reference_rows(raws, RULES[rules])
