"""Masking: every volatile value of a real stream masked, aliased consistently; rule sets."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recorded_pairs import pair, recorded_pairs

from streamcassette import (
    KeyRule,
    Masker,
    MaskRules,
    PathRule,
    PatternRule,
    RecordedFrame,
    SseIdRule,
    mask_cassette,
    parse_frame,
)
from streamcassette._alias import _CLOSE, _OPEN, _REF, UUID_PATTERN
from streamcassette._sse import event_fields

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
TOOL_CALL = re.compile(r"\b(?:call|toolu)_[A-Za-z0-9]{8,}")
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
EPOCH_MS = re.compile(r"\b1[0-9]{12}\b")
PORT = re.compile(r"127\.0\.0\.1:\d+")
HEX32 = re.compile(r"\b[0-9a-f]{32}\b")


@pytest.fixture(scope="session")
def pairs(langgraph_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return recorded_pairs(langgraph_url, tmp_path_factory.mktemp("pairs"))


def masked_texts(cassette_path: Path) -> list[str]:
    """Every masked piece of every stream: request, headers, events, ids and data."""
    from streamcassette import load

    texts: list[str] = []
    for stream in mask_cassette(load(cassette_path)):
        texts += [stream.request_line, json.dumps(stream.body), *(v for _, v in stream.headers)]
        for frame in stream.frames:
            texts += [frame.event or "", frame.id or "", frame.data_text or ""]
    return texts


@pytest.mark.parametrize(
    "scenario", ["agent", "agent_messages", "subgraph", "custom", "interrupt", "failing"]
)
def test_no_volatile_value_survives_masking(pairs: dict[str, Any], scenario: str) -> None:
    """No id, tool-call id, timestamp, epoch time or server port is left in a masked stream."""
    for path in pairs[scenario]:
        for text in masked_texts(path):
            for volatile in (UUID, TOOL_CALL, TIMESTAMP, EPOCH_MS, PORT, HEX32):
                assert not volatile.search(text), (path.name, volatile.pattern, text[:300])


def test_tool_call_and_tool_message_share_one_placeholder(pairs: dict[str, Any]) -> None:
    """The AI message's tool call and the tool message's tool_call_id mask to the same alias."""
    recorded, _ = pair(pairs, "agent")
    stream = mask_cassette(recorded)[0]
    updates = [f.data for f in stream.frames if f.event == "updates"]
    call = updates[0]["agent"]["messages"][0]["tool_calls"][0]
    answer = updates[1]["action"]["messages"][0]
    assert call["id"] == answer["tool_call_id"] == "<tool_call:1>"
    assert updates[0]["agent"]["messages"][0]["id"].startswith("lc_run--<uuid:")


def test_subgraph_event_name_aliases_the_task_id_of_the_parent(pairs: dict[str, Any]) -> None:
    """``updates|node_2:<task>`` names the same alias as node_2's task id in the debug events."""
    recorded, _ = pair(pairs, "subgraph")
    stream = mask_cassette(recorded)[0]
    names = {f.event for f in stream.frames if (f.event or "").startswith("updates|")}
    assert len(names) == 1
    (name,) = names
    assert re.fullmatch(r"updates\|node_2:<uuid:\d+>", name)
    task_ids = [
        f.data["payload"]["id"]
        for f in stream.frames
        if f.event == "debug" and f.data["type"] == "task" and f.data["payload"]["name"] == "node_2"
    ]
    assert task_ids == [name.partition(":")[2]]


def test_request_headers_and_frames_share_thread_and_run_aliases(pairs: dict[str, Any]) -> None:
    """The thread id in the URL, the Location headers and the run metadata alias consistently."""
    recorded, _ = pair(pairs, "agent")
    stream = mask_cassette(recorded)[0]
    headers = dict(stream.headers)
    assert stream.request_line == "POST /threads/<uuid:1>/runs/stream"
    assert headers["location"] == "/threads/<uuid:1>/runs/<uuid:2>/stream"
    assert headers["content-location"] == "/threads/<uuid:1>/runs/<uuid:2>"
    assert headers["date"] == "<date>"
    assert stream.frames[0].data == {"run_id": "<uuid:2>", "attempt": 1}


def test_resumable_ids_timestamps_epoch_and_server_url_mask_to_one_placeholder(
    pairs: dict[str, Any],
) -> None:
    """SSE ids, ISO timestamps, epoch milliseconds and the server URL have no number."""
    recorded, _ = pair(pairs, "agent")
    frames = mask_cassette(recorded)[0].frames
    assert {f.id for f in frames} == {"<event_id>"}
    debug = next(f.data for f in frames if f.event == "debug")
    assert debug["timestamp"] == "<timestamp>"
    configurable = debug["payload"]["config"]["configurable"]
    assert configurable["__request_start_time_ms__"] == "<epoch_ms>"
    events = next(f.data for f in frames if f.event == "events")
    assert events["metadata"]["langgraph_api_url"] == "<api_url>"


def test_interrupt_ids_are_aliased_across_modes(pairs: dict[str, Any]) -> None:
    """The interrupt id in the updates and in the tasks events is one ``<interrupt:1>``."""
    recorded, _ = pair(pairs, "interrupt")
    frames = mask_cassette(recorded)[0].frames
    update = next(f.data for f in frames if f.event == "updates")
    task = next(f.data for f in frames if f.event == "tasks" and f.data.get("interrupts"))
    assert update["__interrupt__"][0]["id"] == "<interrupt:1>"
    assert task["interrupts"][0]["id"] == "<interrupt:1>"


def test_fast_path_agrees_with_the_parsed_json_walk(pairs: dict[str, Any]) -> None:
    """Masking raw JSON text gives what masking the parsed JSON gives (a path rule that matches
    nothing forces the parsed walk; a user regex equal to the UUID rule runs there too)."""
    slow = (
        MaskRules.default()
        .extend(
            paths=["no_such_key_anywhere"],
            patterns=[PatternRule(f"(?:{UUID_PATTERN})", "uuid")],
        )
        .without()
    )
    slow = MaskRules(tuple(r for r in slow.rules if getattr(r, "pattern", "") != UUID_PATTERN))
    for scenario in ("agent", "subgraph", "interrupt"):
        recorded, _ = pair(pairs, scenario)
        fast_streams, slow_streams = mask_cassette(recorded), mask_cassette(recorded, slow)
        for fast, walked in zip(fast_streams, slow_streams, strict=True):
            assert [f.event for f in fast.frames] == [f.event for f in walked.frames]
            assert [f.data for f in fast.frames] == [f.data for f in walked.frames]


# --- aliasing rules on small inputs -----------------------------------------------------------


def test_placeholders_are_numbered_by_kind_in_order_of_first_appearance() -> None:
    """Each kind counts from 1 in the order values first appear, and repeats reuse the number."""
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    text = json.dumps({"x": [b, "call_abc123def456ghi789", a, b, "call_abc123def456ghi789"]})
    masked = json.loads(Masker().mask_json(text))
    assert masked == {"x": ["<uuid:1>", "<tool_call:1>", "<uuid:2>", "<uuid:1>", "<tool_call:1>"]}


def test_masks_apply_to_dict_keys_event_names_and_inside_strings() -> None:
    """An id is masked as a key, in an event name and inside a longer string, with one alias."""
    task = str(uuid.uuid4())
    masker = Masker()
    assert masker.mask_text(f"updates|node_2:{task}") == "updates|node_2:<uuid:1>"
    masked = json.loads(masker.mask_json(json.dumps({f"node_2:{task}": f"lc_run--{task}-0"})))
    assert masked == {"node_2:<uuid:1>": "lc_run--<uuid:1>-0"}


def test_an_id_is_masked_where_it_matches_not_where_its_text_recurs_inside_a_longer_word() -> None:
    """A UUID right after more hex digits is part of a longer word, not an id: it stays, even
    when the same UUID stands alone elsewhere in the frame (text passes and JSON walk alike)."""
    task = str(uuid.uuid4())
    value = {"id": task, "digest": f"ff{task}", "ns": f"node:{task}"}
    expected = {"id": "<uuid:1>", "digest": f"ff{task}", "ns": "node:<uuid:1>"}
    assert json.loads(Masker().mask_json(json.dumps(value))) == expected
    walked = Masker(MaskRules.default().extend(paths=[PathRule("nowhere.*", "x")]))
    assert walked.mask_value({"nowhere": {}, **value}) == {"nowhere": {}, **expected}


def test_a_tool_call_id_is_masked_where_it_matches_not_inside_a_longer_word() -> None:
    """A provider's tool-call id is masked where it stands as a word; the same id inside a
    longer word (after a letter, before ``_v2``) stays, as the JSON walk leaves it; a longer id
    that starts with it is an id of its own."""
    call = "call_" + "Ab3" * 8
    value = {"id": call, "note": f"x{call}", "tail": f"{call}_v2", "text": f"see {call}."}
    expected = {**value, "id": "<tool_call:1>", "text": "see <tool_call:1>."}
    assert json.loads(Masker().mask_json(json.dumps(value))) == expected
    value["other"], expected["other"] = f"{call}Z", "<tool_call:2>"
    assert json.loads(Masker().mask_json(json.dumps(value))) == expected
    walked = Masker(MaskRules.default().extend(paths=[PathRule("nowhere.*", "x")]))
    assert walked.mask_value({"nowhere": {}, **value}) == {"nowhere": {}, **expected}


@pytest.mark.parametrize("recurs", ["note", "tail", None])
def test_a_lone_tool_call_id_is_masked_where_it_matches_only(recurs: str | None) -> None:
    """One matching tool-call id (the usual frame) is replaced where it matches: its text
    inside a longer word stays, before or after it, as the JSON walk leaves it."""
    call = "call_" + "xY7" * 8
    value: dict[str, str] = {"note": "see", "id": call, "tail": "end"}
    if recurs is not None:
        value[recurs] = f"x{call}" if recurs == "note" else f"{call}_v2"
    expected = {**value, "id": "<tool_call:1>"}
    assert json.loads(Masker().mask_json(json.dumps(value))) == expected
    walked = Masker(MaskRules.default().extend(paths=[PathRule("nowhere.*", "x")]))
    assert walked.mask_value(value) == expected


def test_key_rule_masks_objects_whole_and_leaves_null_alone() -> None:
    """A key rule masks an object value whole, a string by alias, and keeps null as it is."""
    rules = MaskRules.default().extend(keys={"usage": "usage"})
    masker = Masker(rules)
    text = json.dumps([{"usage": {"tokens": 3}}, {"usage": "x"}, {"usage": None}])
    assert json.loads(masker.mask_json(text)) == [
        {"usage": "<usage:1>"},
        {"usage": "<usage:2>"},
        {"usage": None},
    ]


@pytest.mark.parametrize(
    ("glob", "masked"),
    [
        ("agent.messages[*].id", {"agent": {"messages": [{"id": "<id:1>"}, {"id": "<id:2>"}]}}),
        ("**.id", {"agent": {"messages": [{"id": "<id:1>"}, {"id": "<id:2>"}]}}),
        ("agent.messages[1].id", {"agent": {"messages": [{"id": "m1"}, {"id": "<id:1>"}]}}),
        ("*.messages", {"agent": {"messages": "<messages:1>"}}),
        ("age*.messages[*]", {"agent": {"messages": ["<messages:1>", "<messages:2>"]}}),
        (
            '["agent"].messages[*]["id"]',
            {"agent": {"messages": [{"id": "<id:1>"}, {"id": "<id:2>"}]}},
        ),
    ],
)
def test_path_globs_select_values(glob: str, masked: Any) -> None:
    """Keys, ``*``, ``**``, ``[*]``, ``[n]``, partial-key globs and quoted keys select paths."""
    rules = MaskRules.default().extend(paths=[glob])
    text = json.dumps({"agent": {"messages": [{"id": "m1"}, {"id": "m2"}]}})
    assert json.loads(Masker(rules).mask_json(text)) == masked


def test_rules_replace_by_target_and_drop_by_kind() -> None:
    """A rule for the same key replaces the built-in one; ``without`` drops a kind."""
    rules = MaskRules.default().extend(keys=[KeyRule("id", "message_id")]).without("tool_call")
    assert KeyRule("id", "message_id") in rules.keys
    assert all(rule.key != "id" or rule.kind == "message_id" for rule in rules.keys)
    assert "tool_call" not in rules.kinds
    masked = Masker(rules).mask_json('{"id":"m","x":"call_abc123def456ghi789"}')
    assert json.loads(masked) == {"id": "<message_id:1>", "x": "call_abc123def456ghi789"}


def test_config_round_trip() -> None:
    """``to_config`` gives a table that ``from_config`` turns back into the same rules."""
    rules = (
        MaskRules.default()
        .without("tool_call")
        .extend(
            keys={"created": "timestamp"},
            paths=["**.response_metadata.id"],
            patterns=[PatternRule("chatcmpl-[A-Za-z0-9]+", "completion", numbered=False)],
            headers=["x-request-id"],
            sse_ids=[SseIdRule("evt-[0-9]+", "event_number")],
        )
    )
    config = rules.to_config()
    assert config["sse_ids"] == [{"pattern": "evt-[0-9]+", "kind": "event_number"}]
    assert config["disable"] == ["tool_call"]
    assert MaskRules.from_config(config) == rules
    assert MaskRules.from_config({}) == MaskRules.default()
    assert MaskRules.from_config(MaskRules().to_config()) == MaskRules()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"key": ["x"]}, "unknown mask setting 'key'"),
        ({"patterns": ["("]}, "is not a valid regular expression"),
        ({"patterns": ["x*"]}, "matches the empty string"),
        ({"paths": ["a..b"]}, "cannot read this glob"),
        ({"keys": [{"key": "a", "kinds": "b"}]}, "mask.keys[0]: unknown setting 'kinds'"),
        ({"disable": ["nope"]}, "no built-in rule has kind 'nope'"),
        ({"keys": [{"key": "a", "kind": "not a kind"}]}, "is not a placeholder name"),
        ({"sse_ids": ["[0-9]*"]}, "SSE id rule '[0-9]*' matches an empty id"),
        ({"sse_ids": [{"pattern": "[", "kind": "x"}]}, "SSE id rule: '[' is not a valid"),
        ({"keys": ["a*b"]}, "key rule 'a*b': '*' may only end a key name"),
        ({"keys": ["*"]}, "key rule '*': '*' may only end a key name"),
    ],
)
def test_bad_rules_are_refused_with_the_entry_named(config: dict[str, Any], message: str) -> None:
    """Unknown settings, bad regexes and globs are errors that say which entry is wrong."""
    with pytest.raises(ValueError, match=re.escape(message)):
        MaskRules.from_config(config)


# --- properties -------------------------------------------------------------------------------

_ids = st.builds(lambda n: str(uuid.UUID(int=n)), st.integers(0, 2**128 - 1))
_calls = st.text("abcdef0123456789", min_size=24, max_size=24).map(lambda s: f"call_{s}")
_stamps = st.datetimes().map(lambda d: d.isoformat() + "Z")
_plain = st.text(st.characters(codec="utf-8", exclude_characters=_OPEN), max_size=20)
_volatile = st.one_of(_ids, _calls, _stamps, _plain, _ids.map(lambda s: f"lc_run--{s}-0"))
_json = st.recursive(
    st.one_of(_volatile, st.integers(), st.booleans(), st.none()),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(_volatile, children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(_json)
def test_masking_is_idempotent(value: Any) -> None:
    """Masking a masked value changes nothing."""
    text = json.dumps(value, ensure_ascii=False)
    once = Masker().mask_json(text)
    assert Masker().mask_json(once) == once


@settings(max_examples=150, deadline=None)
@given(_json)
def test_alias_numbering_is_deterministic_and_in_order(value: Any) -> None:
    """Two maskers number the same input the same, each kind 1, 2, ... in order of appearance."""
    text = json.dumps(value, ensure_ascii=False)
    first, second = Masker().mask_json(text), Masker().mask_json(text)
    assert first == second
    seen: dict[str, list[int]] = {}
    for kind, number in re.findall(r"<([a-z_]+):(\d+)>", first):
        numbers = seen.setdefault(kind, [])
        if int(number) not in numbers:
            numbers.append(int(number))
    for numbers in seen.values():
        assert numbers == list(range(1, len(numbers) + 1))


_lines = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["event", "data", "id", "retry", "", ":"]), _lines),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(["\r\n", "\n", "\r"]),
    st.booleans(),
)
def test_frame_fast_path_agrees_with_the_sse_parser(
    fields: list[tuple[str, str]], newline: str, space: bool
) -> None:
    """The masker's frame splitter reads event, data and id as the SSE parser does."""
    sep = ": " if space else ":"
    raw = "".join(f"{name}{sep}{value}{newline}" for name, value in fields) + newline
    parsed = parse_frame(raw.encode())
    expected = (parsed.event, parsed.data, parsed.id) if parsed.is_event else None
    assert event_fields(raw.encode()) == expected
    stream = mask_cassette_of_frames([raw.encode()])
    if expected is not None:
        masker = Masker()
        event = None if parsed.event is None else masker.mask_text(parsed.event)
        data = None if parsed.data is None else masker.mask_json(parsed.data)
        assert [(f.event, f.data_text) for f in stream.frames] == [(event, data)]
    else:
        assert stream.frames == []


_lines_with_cr = st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=12)


@settings(max_examples=300, deadline=None)
@given(_lines_with_cr, _lines_with_cr, st.none() | _lines_with_cr, st.sampled_from(["\r\n", "\n"]))
def test_a_stray_cr_in_a_line_ends_it_on_the_fast_path_too(
    event: str, data: str, event_id: str | None, newline: str
) -> None:
    """A frame shaped as the servers send one (event, data, maybe id) whose lines may hold a
    lone CR: that CR ends a line, for the masker's frame splitter as for the SSE parser (the
    frame masks as the fields the parser reads, written out plainly)."""
    lines = [f"event: {event}", f"data: {data}"] + ([] if event_id is None else [f"id: {event_id}"])
    raw = (newline.join(lines) + newline * 2).encode()
    parsed = parse_frame(raw)
    plain: list[str] = [] if parsed.event is None else [f"event: {parsed.event}"]
    if parsed.data is not None:
        plain += [f"data: {line}" for line in parsed.data.split("\n")]
    if parsed.id is not None:
        plain.append(f"id: {parsed.id}")
    as_read = mask_cassette_of_frames([("\n".join(plain) + "\n\n").encode()])
    masked = mask_cassette_of_frames([raw])
    fields = [[(f.event, f.id, f.data_text) for f in s.frames] for s in (masked, as_read)]
    assert fields[0] == fields[1]
    assert len(fields[0]) == (1 if parsed.is_event else 0)


def mask_cassette_of_frames(raws: list[bytes]) -> Any:
    from streamcassette import (
        Cassette,
        Interaction,
        RecordedRequest,
        RecordedResponse,
        RecordedStream,
    )

    response = RecordedResponse(200, [])
    response.stream = RecordedStream([RecordedFrame(0.0, raw) for raw in raws])
    cassette = Cassette([Interaction(RecordedRequest("POST", "/runs/stream"), response)])
    return mask_cassette(cassette)[0]


@pytest.mark.parametrize("forged", [f"{_OPEN}0{_CLOSE}", f"{_OPEN}1{_CLOSE}x", "\ue0000\ue001"])
def test_placeholder_like_private_use_text_cannot_forge_a_reference(forged: str) -> None:
    """Text holding the masker's reference characters (the C1 controls PU1 and PU2) is kept,
    not read as a mask: in JSON (as the same string), and in text that is not JSON or is
    an event name (with the opening one written as its JSON escape)."""
    text = json.dumps({"a": forged, "b": str(uuid.uuid4())}, ensure_ascii=False)
    assert json.loads(Masker().mask_json(text)) == {"a": forged, "b": "<uuid:1>"}
    escaped = forged.replace(_OPEN, "\\u0091")
    assert Masker().mask_json(f"not json {forged}") == f"not json {escaped}"
    assert Masker().mask_text(f"event {forged}") == f"event {escaped}"


def test_path_rules_see_masked_keys_without_numbers() -> None:
    """A glob names a masked key as ``<kind>``, whatever its number."""
    rules = MaskRules.default().extend(paths=[PathRule('map["node:<uuid>"]', "checkpoint")])
    text = json.dumps({"map": {f"node:{uuid.uuid4()}": "v1", "other": "v2"}})
    masked = json.loads(Masker(rules).mask_json(text))
    assert masked == {"map": {"node:<uuid:1>": "<checkpoint:1>", "other": "v2"}}


@settings(max_examples=200, deadline=None)
@given(
    _lines,
    _lines,
    st.one_of(st.none(), _lines),
    st.sampled_from(["\r\n", "\n"]),
)
def test_usual_frames_take_the_fast_path_and_read_the_same(
    event: str, data: str, event_id: str | None, newline: str
) -> None:
    """Frames laid out as servers send them (event, data, maybe id) read as the parser does."""
    raw = f"event: {event}{newline}data: {data}{newline}"
    if event_id is not None:
        raw += f"id: {event_id}{newline}"
    raw += newline
    parsed = parse_frame(raw.encode())
    assert event_fields(raw.encode()) == (parsed.event, parsed.data, parsed.id)
    masker = Masker()
    expected = [(masker.mask_text(event), masker.mask_json(data))]
    stream = mask_cassette_of_frames([raw.encode()])
    assert [(f.event, f.data_text) for f in stream.frames] == expected


# Tool-call ids minted as providers mint them; about 1.5 % of random 24-character ones have
# no digit, so the strategies draw such ids on purpose as well as mixed ones.
_BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_LETTERS = _BASE62[:52]
PROVIDER_CALL_IDS = st.one_of(
    st.text(_BASE62, min_size=24, max_size=24).map(lambda s: f"call_{s}"),  # OpenAI
    st.text(_LETTERS, min_size=24, max_size=24).map(lambda s: f"call_{s}"),  # ... no digit
    st.text(_BASE62, min_size=22, max_size=22).map(lambda s: f"toolu_01{s}"),  # Anthropic
    st.text(_LETTERS, min_size=24, max_size=24).map(lambda s: f"toolu_{s}"),
    st.text(_BASE62, min_size=24, max_size=24).map(lambda s: f"toolu_vrtx_{s}"),  # on Vertex
    # short ids, with and without digits (other providers, test doubles): ids in id positions
    st.text(_LETTERS, min_size=1, max_size=16).map(lambda s: f"call_{s}"),
    st.text(_BASE62, min_size=1, max_size=7).map(lambda s: f"call_{s}"),
    st.text(_LETTERS, min_size=1, max_size=10).map(lambda s: f"toolu_{s}"),
)


@settings(max_examples=60, deadline=None)
@given(first=PROVIDER_CALL_IDS, second=PROVIDER_CALL_IDS)
def test_provider_tool_call_ids_mask_alike_with_or_without_digits(
    pairs: dict[str, Any], first: str, second: str
) -> None:
    """A Python-server recording whose tool-call id is replaced by provider-shaped ids, with
    or without digits, masks to the same stream whichever id it carries."""
    recorded, _ = pair(pairs, "agent")
    _, interaction = next(recorded.streams())
    assert interaction.response is not None
    assert interaction.response.stream is not None
    frames = interaction.response.stream.frames
    (original,) = {m.group() for f in frames for m in TOOL_CALL.finditer(f.raw.decode())}

    def masked_with(call_id: str) -> list[str | None]:
        changed = [
            RecordedFrame(f.at, f.raw.replace(original.encode(), call_id.encode())) for f in frames
        ]
        interaction.response.stream.frames = changed  # type: ignore[union-attr]
        (stream, *_) = mask_cassette(recorded)
        return [frame.data_text for frame in stream.frames]

    as_recorded = masked_with(original)
    assert any("<tool_call:1>" in (text or "") for text in as_recorded)
    assert masked_with(first) == as_recorded
    assert masked_with(second) == as_recorded


@pytest.mark.parametrize("structural", [False, True])
def test_short_tool_call_ids_mask_in_id_positions_and_names_stay(structural: bool) -> None:
    """``call_abc123`` and ``call_abcdefghijklmnop`` mask as tool-call ids where they are the
    value of ``id``, ``tool_call_id`` or ``call_id`` (linked wherever they recur as words),
    on raw JSON text and on parsed JSON alike; ``call_function`` as a name, and words that
    merely start with an id, stay."""
    rules = MaskRules.default()
    if structural:  # a path rule that matches: the frame is masked on its parsed JSON
        rules = rules.extend(paths=["**.stamp"])
    frame = {
        "stamp": 1,
        "tool_calls": [
            {"name": "call_function", "id": "call_abc123"},
            {"name": "call_function", "id": "call_abcdefghijklmnop"},
        ],
        "tool_call_id": "call_abc123",
        "call_id": "toolu_xyz",
        "content": "call_abc1234 is another word",
    }
    masked = json.loads(Masker(rules).mask_json(json.dumps(frame, separators=(",", ":"))))
    assert masked["tool_calls"] == [
        {"name": "call_function", "id": "<tool_call:1>"},
        {"name": "call_function", "id": "<tool_call:2>"},
    ]
    assert masked["tool_call_id"] == "<tool_call:1>"
    assert masked["call_id"] == "<tool_call:3>"
    assert masked["content"] == "call_abc1234 is another word"
    free_text = Masker(rules).mask_json(json.dumps({"text": "use call_abcdefghijklmnop"}))
    assert "call_abcdefghijklmnop" in free_text  # free text keeps the stricter rule


@pytest.mark.parametrize("structural", [False, True])
def test_echoed_x_headers_mask_and_other_configurable_keys_stay(structural: bool) -> None:
    """Every ``x-*`` key (the client headers the JS server copies into configurable) masks to
    ``<client>``; a configurable key of the run's own keeps its value, so it can differ."""
    rules = MaskRules.default()
    if structural:
        rules = rules.extend(paths=["**.stamp"])
    frame = {
        "stamp": 1,
        "configurable": {"x-request-id": "req-1", "x-retry": 2, "label": "first", "x-ray": "x-y"},
    }
    masked = json.loads(Masker(rules).mask_json(json.dumps(frame)))
    assert masked["configurable"] == {
        "x-request-id": "<client>",
        "x-retry": "<client>",
        "label": "first",
        "x-ray": "<client>",
    }
    text = json.dumps({"text": 'a "x-b": 1', "v": "x-c"})
    assert Masker(rules).mask_json(text) == text  # "x- in a string is not a key


def test_a_guard_with_a_rare_letter_is_tested_by_that_letter_then_whole() -> None:
    """A step whose guard holds a rare letter (``"x-``) is guarded by that letter, and its
    pass runs only where the whole guard is: a text with the letter and no guard, and one
    with the guard, mask as the rules say."""
    from streamcassette._alias import _compiled

    rules = MaskRules.default().extend(keys=["quota"])
    guards = [guard for guard, _ in _compiled(rules).text_steps]
    assert "x" in guards  # "x-, tested by its x
    assert "q" in guards  # "quota":, tested by its q
    assert "-" in guards  # a one-character guard is its own test
    masker = Masker(rules)
    text = json.dumps({"max": "x", "quota": 3, "q": "x-", "x-id": 1})
    assert json.loads(masker.mask_json(text)) == {
        "max": "x",
        "quota": "<quota:1>",
        "q": "x-",
        "x-id": "<client>",
    }


def test_a_user_prefix_key_rule_masks_every_key_it_starts() -> None:
    """``keys = ["trace_*"]`` masks ``trace_id`` and ``trace_span`` (numbered, linked by value)
    and leaves ``tracer``; it survives a config round trip."""
    rules = MaskRules.default().extend(keys=["trace_*"])
    text = json.dumps({"trace_id": "t1", "trace_span": "t1", "n": {"trace_id": "t2"}, "tracer": 1})
    masked = json.loads(Masker(rules).mask_json(text))
    assert masked == {
        "trace_id": "<trace:1>",
        "trace_span": "<trace:1>",
        "n": {"trace_id": "<trace:2>"},
        "tracer": 1,
    }
    assert MaskRules.from_config(rules.to_config()) == rules


def _by_value(shape: str, refs: Any) -> str:
    """A masked text with each reference written as its kind and value (numbering aside)."""
    return _REF.sub(
        lambda m: f"<{refs.kinds[int(m.group(1))]}={refs.values[int(m.group(1))]}>",
        shape,
    )


_token = st.text(st.sampled_from('ab ,{}"\\:-_0123456789'), max_size=12)


@settings(max_examples=200, deadline=None)
@given(
    token=_token,
    message_id=_ids,
    run_id=_ids,
    call=st.text(_BASE62, min_size=24, max_size=24),
    pad=st.integers(0, 150),
    more=st.booleans(),
)
def test_masking_in_pieces_agrees_with_masking_the_whole_text(
    token: str, message_id: str, run_id: str, call: str, pad: int, more: bool
) -> None:
    """A messages frame masked piece by piece (token, rest of the chunk, metadata) masks the
    same values at the same places as the whole text masked at once."""
    from streamcassette._alias import _Refs

    chunk = {"content": token, "id": f"lc_run--{message_id}", "pad": "x" * pad}
    # a tool call's streamed arguments: JSON in a string, its quotes escaped
    chunk["tool_call_chunks"] = [{"id": f"call_{call}", "args": '{"q": "a'}] if more else []
    meta = {"run_id": run_id, "langgraph_api_url": "http://127.0.0.1:1", "pad": "y" * pad}
    meta["at"] = "2026-01-02T03:04:05Z"
    text = json.dumps([chunk, meta], ensure_ascii=False, separators=(",", ":"))
    masker, pieces, whole = Masker(), _Refs(), _Refs()
    shapes: set[str] = set()
    for _ in range(3):  # then twice from the remembered pieces
        in_pieces = masker._text(text, pieces)
        shapes.add(in_pieces)  # the same references each way: the frame aligns alike
        at_once = masker._passes(text, whole)
        assert _by_value(in_pieces, pieces) == _by_value(at_once, whole)
        found = sorted(zip(pieces.kinds, pieces.values, strict=True))
        assert found == sorted(zip(whole.kinds, whole.values, strict=True))
        pieces, whole = _Refs(), _Refs()
    assert len(shapes) == 1
    if "\\\\" not in text and pad >= 120:  # escaped quotes do not hide where strings end
        assert masker._pieces  # the metadata (and the rest of the chunk) remembered
    if not set(token) & set('"\\') and not token.startswith(",") and pad >= 120:
        from streamcassette._alias import _Piece

        assert any(isinstance(rest, _Piece) for rest in masker._rests.values())
