"""The SSE frame codec: the spec's examples, then properties over generated streams.

The properties check ``FrameDecoder`` against the bytes (round trip, chunking does not
matter, frames end exactly at dispatch points) and ``parse_frame`` against two
independent decoders: httpx-sse's, and the LangGraph SDK's own, which is what reads
the streams that replay hands back.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from typing import Any

import httpx_sse
import orjson
import pytest
from httpx_sse._decoders import SSEDecoder as HttpxSSEDecoder  # not re-exported
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langgraph_sdk import sse as sdk_sse

from streamcassette import FrameDecoder, SSEFrame, encode_frames, parse_frame

BOM = b"\xef\xbb\xbf"
LINE_ENDINGS = (b"\r\n", b"\n", b"\r")
PROPERTY_SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def decode(chunks: Iterable[bytes]) -> tuple[list[bytes], bytes]:
    """Feed every chunk to a fresh decoder, then flush: all frames and the tail."""
    decoder = FrameDecoder()
    frames: list[bytes] = []
    for chunk in chunks:
        frames += decoder.feed(chunk)
    flushed, tail = decoder.flush()
    return frames + flushed, tail


def split_at(stream: bytes, cuts: Iterable[int]) -> list[bytes]:
    """The stream cut at these offsets (repeated offsets make empty chunks)."""
    bounds = [0, *sorted(cuts), len(stream)]
    return [stream[start:end] for start, end in itertools.pairwise(bounds)]


def bytewise(stream: bytes) -> list[bytes]:
    return [stream[i : i + 1] for i in range(len(stream))]


def parse_all(frames: Sequence[bytes]) -> list[SSEFrame]:
    return [parse_frame(raw, at_stream_start=index == 0) for index, raw in enumerate(frames)]


# --- The spec's examples (WHATWG HTML, "Interpreting an event stream") ---------------


def test_spec_example_multiline_data() -> None:
    """Several data lines in one block join with LF into one event's data."""
    frames, tail = decode([b"data: YHOO\ndata: +2\ndata: 10\n\n"])
    assert tail == b""
    assert [parse_frame(raw) for raw in frames] == [SSEFrame(data="YHOO\n+2\n10")]


def test_spec_example_comment_ids_and_unterminated_block() -> None:
    """A comment block is no event, a bare ``id`` resets the id, an unended block is the tail."""
    stream = (
        b": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event"
    )
    frames, tail = decode([stream])
    parsed = parse_all(frames)
    assert [frame.is_event for frame in parsed] == [False, True, True]
    assert parsed[0].comments == ("test stream",)
    assert (parsed[1].data, parsed[1].id) == ("first event", "1")
    assert (parsed[2].data, parsed[2].id) == ("second event", "")
    assert tail == b"data:  third event"
    assert parse_frame(tail).data == " third event"  # only the one space is a separator


def test_spec_example_empty_data_lines() -> None:
    """``data`` with no colon adds an empty line; two of them make the data one LF."""
    frames, tail = decode([b"data\n\ndata\ndata\n\ndata:"])
    assert [parse_frame(raw).data for raw in frames] == ["", "\n"]
    assert all(parse_frame(raw).is_event for raw in frames)
    assert tail == b"data:"


def test_spec_example_space_after_colon_is_optional() -> None:
    """``data:test`` and ``data: test`` carry the same data."""
    frames, _ = decode([b"data:test\n\ndata: test\n\n"])
    assert [parse_frame(raw).data for raw in frames] == ["test", "test"]


def test_comment_heartbeat_is_not_an_event() -> None:
    """A ``: heartbeat`` frame is a frame of its own that no client sees as an event."""
    frames, _ = decode([b": heartbeat\r\n\r\nevent: end\r\ndata: null\r\n\r\n"])
    heartbeat, end = (parse_frame(raw) for raw in frames)
    assert heartbeat == SSEFrame(comments=("heartbeat",))
    assert not heartbeat.is_event
    assert (end.event, end.data, end.is_event) == ("end", "null", True)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"data", SSEFrame(data="")),
        (b"event", SSEFrame(event="")),
        (b"id", SSEFrame(id="")),
        (b"retry", SSEFrame()),
        (b"data:", SSEFrame(data="")),
        (b"data:  two spaces", SSEFrame(data=" two spaces")),
        (b"data: a: b", SSEFrame(data="a: b")),
        (b"Data: case matters", SSEFrame()),
        (b"unknown: field", SSEFrame()),
        (b":", SSEFrame(comments=("",))),
    ],
)
def test_field_without_colon_or_value(line: bytes, expected: SSEFrame) -> None:
    """A line without a colon is a field name with an empty value; unknown names are ignored."""
    assert parse_frame(line + b"\n\n") == expected


def test_id_with_nul_is_ignored() -> None:
    """An ``id`` whose value contains NUL does not set the id, in parse_frame as in the SDK."""
    assert parse_frame(b"id: 7\nid: a\0b\ndata: x\n\n").id == "7"
    assert parse_frame(b"id: a\0b\ndata: x\n\n").id is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"1000", 1000),
        (b"0", 0),
        (b"007", 7),
        (b"", None),
        (b" 10", None),  # "retry:  10": only one space is a separator
        (b"10 ", None),
        (b"-1", None),
        (b"+1", None),
        (b"1e3", None),
        (b"1_000", None),
        ("١٢".encode(), None),  # Arabic-Indic digits are not ASCII digits
        ("\uff11\uff12".encode(), None),  # fullwidth digits
    ],
)
def test_retry_takes_ascii_digits_only(value: bytes, expected: int | None) -> None:
    """``retry`` is set only when its value is ASCII digits."""
    assert parse_frame(b"retry: " + value + b"\n\n").retry == expected


def test_retry_with_too_many_digits_does_not_raise() -> None:
    """Regression: a ``retry`` longer than int()'s digit limit is ignored instead of raising."""
    frame = parse_frame(b"retry: 5\nretry: " + b"9" * 5000 + b"\ndata: x\n\n")
    assert frame.data == "x"
    # Python before 3.10.7 has no digit limit and reads the long value.
    assert frame.retry == 5 or (frame.retry or 0).bit_length() > 16_000


def test_retry_keeps_last_valid_value() -> None:
    """An invalid ``retry`` after a valid one leaves the valid one."""
    assert parse_frame(b"retry: 5\nretry: x\n\n").retry == 5


def test_bom_at_stream_start_is_ignored() -> None:
    """A BOM opening the stream stays in the first frame's bytes but not in its field name."""
    frames, tail = decode([BOM + b"data: x\n\n"])
    assert frames == [BOM + b"data: x\n\n"]
    assert tail == b""
    assert parse_frame(frames[0]).data == "x"


def test_only_one_bom_is_ignored() -> None:
    """A second BOM is part of the first field name, which is then unknown."""
    assert parse_frame(BOM + BOM + b"data: x\n\n") == SSEFrame()


def test_bom_after_stream_start_is_not_ignored() -> None:
    """In a later frame a BOM is part of the first field name, as the SDK reads it."""
    assert parse_frame(BOM + b"data: x\n\n", at_stream_start=False) == SSEFrame()
    assert parse_frame(BOM + b": c\ndata: x\n\n", at_stream_start=False).data == "x"


def test_bom_then_blank_line_dispatches_at_stream_start() -> None:
    """Regression: a BOM then a blank line is a blank first line, so it ends a frame of its own."""
    stream = BOM + b"\r\ndata: x\r\n\r\n"
    expected = [BOM + b"\r\n", b"data: x\r\n\r\n"]
    assert decode([stream]) == (expected, b"")
    assert decode(bytewise(stream)) == (expected, b"")
    assert [frame.data for frame in parse_all(expected)] == [None, "x"]


def test_bom_split_across_chunks() -> None:
    """A BOM arriving a byte at a time is still recognised."""
    assert decode([b"\xef", b"", b"\xbb", b"\xbf", b"\n", b"data: x\n\n"]) == (
        [BOM + b"\n", b"data: x\n\n"],
        b"",
    )


def test_bom_prefix_alone_is_the_tail() -> None:
    """A stream that is only the start of a BOM ends as a tail, byte for byte."""
    assert decode([b"\xef\xbb"]) == ([], b"\xef\xbb")


def test_bom_only_at_stream_start_for_the_decoder() -> None:
    """Mid-stream, a BOM line is not blank, so it does not end a frame."""
    stream = b"data: a\n\n" + BOM + b"\ndata: b\n\n"
    assert decode([stream])[0] == [b"data: a\n\n", BOM + b"\ndata: b\n\n"]


def test_decoder_is_reusable_after_flush() -> None:
    """After flush the decoder reads a new stream, BOM handling included."""
    decoder = FrameDecoder()
    assert decoder.feed(b"data: a\n\ndata: b") == [b"data: a\n\n"]
    assert decoder.flush() == ([], b"data: b")
    assert decoder.feed(BOM + b"\n") == [BOM + b"\n"]
    assert decoder.flush() == ([], b"")


@pytest.mark.parametrize(
    "stream",
    [
        b"data: a\r\n\r\n",
        b"data: a\n\n",
        b"data: a\r\r",
        b"data: a\r\n\n",
        b"data: a\n\r\n",
        b"data: a\r\r\n",
        b"data: a\n\r",
    ],
)
def test_line_endings_and_mixtures(stream: bytes) -> None:
    """CRLF, LF and CR end lines, mixed freely; any of them after a line end is a blank line."""
    for chunks in ([stream], bytewise(stream)):
        assert decode(chunks) == ([stream], b"")
    assert parse_frame(stream) == SSEFrame(data="a")


def test_crlf_split_across_chunks_is_one_line_ending() -> None:
    """A CR ending a chunk is held until the next one shows it was the start of a CRLF."""
    decoder = FrameDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n\r") == []
    assert decoder.feed(b"\n") == [b"data: a\r\n\r\n"]
    assert decoder.flush() == ([], b"")


def test_held_cr_at_end_of_stream_is_a_lone_cr() -> None:
    """A CR held at the end of the data is a line ending of its own once the stream ends."""
    decoder = FrameDecoder()
    assert decoder.feed(b"data: a\n\r") == []
    assert decoder.flush() == ([b"data: a\n\r"], b"")


def test_held_cr_settled_by_a_chunk_without_line_endings() -> None:
    """Regression guard: a chunk with no line ending still settles a held CR and emits its frame."""
    decoder = FrameDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\r") == []
    assert decoder.feed(b"data: b") == [b"data: a\r\r"]
    assert decoder.flush() == ([], b"data: b")


def test_unterminated_last_frame_is_the_tail() -> None:
    """Bytes after the last blank line come back from flush as the tail, not as a frame."""
    decoder = FrameDecoder()
    assert decoder.feed(b"data: a\n\ndata: b\nid: 2\n") == [b"data: a\n\n"]
    assert decoder.flush() == ([], b"data: b\nid: 2\n")


def test_lone_cr_tail_at_end_of_stream() -> None:
    """A field line ended by a lone CR at the end of the stream is still only a tail."""
    assert decode([b"data: a\r"]) == ([], b"data: a\r")


def test_empty_chunks_and_empty_stream() -> None:
    """Empty chunks do nothing and an empty stream has no frames and no tail."""
    decoder = FrameDecoder()
    assert decoder.feed(b"") == []
    assert decoder.flush() == ([], b"")


def test_blank_lines_in_a_row_are_frames_of_their_own() -> None:
    """Every blank line is a dispatch point, even one right after another."""
    assert decode([b"\n\r\n\rdata: a\n\n\n"]) == (
        [b"\n", b"\r\n", b"\r", b"data: a\n\n", b"\n"],
        b"",
    )


def test_unicode_line_separators_do_not_split_lines() -> None:
    """U+2028, U+2029, U+0085, VT, FF and FS inside JSON are data, not line endings."""
    payload = {"text": "a\u2028b\u2029c\u0085d\x0be\x0cf\x1cg"}
    raw = (
        b"event: values\r\ndata: " + json.dumps(payload, ensure_ascii=False).encode() + b"\r\n\r\n"
    )
    raw = raw.replace(b"\\u000b", b"\x0b").replace(b"\\f", b"\x0c").replace(b"\\u001c", b"\x1c")
    assert b"\x0b" in raw  # the control characters really are raw on the wire
    frames, tail = decode(bytewise(raw))
    assert (frames, tail) == ([raw], b"")
    assert parse_frame(raw).data == raw.split(b"data: ")[1].split(b"\r\n")[0].decode()


def test_event_name_alone_is_an_event_but_empty_event_name_is_not() -> None:
    """Regression: an empty ``event:`` line alone is no event, for the SDK and the spec alike."""
    assert parse_frame(b"event: end\n\n").is_event
    assert not parse_frame(b"event:\n\n").is_event
    assert not parse_frame(b"event\n\n").is_event
    assert parse_frame(b"event:\ndata: x\n\n").is_event


def test_id_or_retry_alone_is_not_an_event() -> None:
    """Frames that only set the id or the retry time yield nothing to a caller."""
    assert not parse_frame(b"id: 1\n\n").is_event
    assert not parse_frame(b"retry: 10\n\n").is_event


def test_invalid_utf8_is_replaced() -> None:
    """Invalid UTF-8 in a value decodes with U+FFFD, as the SDK and httpx-sse do."""
    assert parse_frame(b"event: a\xffb\ndata: \xe2\x80\n\n") == SSEFrame(
        event="a\ufffdb", data="\ufffd"
    )


# --- Generated streams ------------------------------------------------------------------

SPECIAL_CHARACTERS = "\u2028\u2029\u0085\x0b\x0c\x1c\x1d\x1e\ufeff\x00\x7f:é€😀"
texts = st.text(
    st.characters(codec="utf-8", exclude_characters="\r\n") | st.sampled_from(SPECIAL_CHARACTERS),
    max_size=12,
)
raw_values = st.one_of(
    texts.map(str.encode),
    st.binary(max_size=12).map(lambda value: value.replace(b"\r", b"").replace(b"\n", b"")),
)
event_names = st.sampled_from(
    [b"metadata", b"values", b"updates", b"messages/partial", b"end", b"error", b""]
) | texts.map(str.encode)
event_ids = st.sampled_from([b"1795299043867-0", b"1795299043867-1", b""]) | raw_values
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(texts, children, max_size=3),
    max_leaves=8,
)


@st.composite
def field_lines(draw: st.DrawFn, name: bytes, values: st.SearchStrategy[bytes]) -> bytes:
    """One field line without its line ending, in any of the spec's spellings."""
    value = draw(values)
    if not value and draw(st.booleans()):
        return name  # a field with no colon has an empty value
    return name + draw(st.sampled_from([b": ", b":"])) + value


def other_lines() -> st.SearchStrategy[bytes]:
    """Lines that are not data: event, id, retry, comments, unknown fields."""
    return st.one_of(
        field_lines(b"event", event_names),
        field_lines(b"id", event_ids | raw_values.map(lambda value: value + b"\0")),
        field_lines(b"retry", st.integers(0, 10**6).map(lambda n: str(n).encode()) | raw_values),
        raw_values.map(lambda value: b":" + value),
        st.just(b": heartbeat"),
        field_lines(b"unknown", raw_values),
        # A line of junk (never a data line: JSON streams need their data intact; never
        # led by a BOM, which at the stream's start is stripped and would leave a blank line).
        raw_values.filter(
            lambda value: (
                value[:1] not in (b"", b":") and value[:4] != b"data" and not value.startswith(BOM)
            )
        ),
    )


@st.composite
def json_data_lines(draw: st.DrawFn) -> list[bytes]:
    """The data lines of one JSON payload, on one line or pretty-printed over several."""
    text = json.dumps(
        draw(json_values), ensure_ascii=False, indent=draw(st.sampled_from([None, 1]))
    )
    return [b"data: " + line.encode() for line in text.split("\n")]


@st.composite
def frame_lines(draw: st.DrawFn, *, json_data: bool) -> list[bytes]:
    """The field lines of one frame (without line endings or the blank line)."""
    lines = draw(st.lists(other_lines(), max_size=3))
    if json_data:
        data = draw(json_data_lines()) if draw(st.booleans()) else []
        at = draw(st.integers(0, len(lines)))
        return lines[:at] + data + lines[at:]
    data_lines = st.lists(field_lines(b"data", raw_values), max_size=3)
    return draw(st.permutations(lines + draw(data_lines)))


@st.composite
def sse_streams(draw: st.DrawFn, *, json_data: bool = False) -> tuple[bytes, list[bytes], bytes]:
    """A stream with the frames and tail a decoder must find in it: ``(stream, frames, tail)``.

    Frames are field lines then a blank line, each line with its own ending. A CR then a
    blank line ended by a bare LF would read as one CRLF, so a blank line after a CR ends
    with CR or CRLF. The tail is field lines without the blank line, its last line
    possibly unterminated.
    """
    previous_ending = b""

    def ending(*, blank: bool) -> bytes:
        nonlocal previous_ending
        choices = LINE_ENDINGS
        if blank and previous_ending == b"\r":
            choices = (b"\r\n", b"\r")
        previous_ending = draw(st.sampled_from(choices))
        return previous_ending

    frames = []
    for lines in draw(st.lists(frame_lines(json_data=json_data), max_size=5)):
        frames.append(b"".join(line + ending(blank=False) for line in lines) + ending(blank=True))
    tail_lines = draw(frame_lines(json_data=json_data)) if draw(st.booleans()) else []
    tail = b"".join(line + ending(blank=False) for line in tail_lines)
    if tail_lines and draw(st.booleans()):
        tail = tail.removesuffix(previous_ending)  # the last line is unterminated
    if draw(st.booleans()):
        if frames:
            frames[0] = BOM + frames[0]
        else:
            tail = BOM + tail
    return encode_frames(frames) + tail, frames, tail


# Streams of SSE-ish tokens, with no guarantee of any structure.
token_soup = st.lists(
    st.sampled_from(
        [
            *(b"\r", b"\n", b"\r\n", b"data", b"event", b"id", b"retry", b":", b" ", b"x", BOM),
            *(b"\0", b"\xe2\x80\xa8", b"\xc2\x85", b"\x0b", b"\x0c", b"\xff", b"\xe2\x80", b"1"),
        ]
    ),
    max_size=40,
).map(b"".join)


@st.composite
def chunkings(draw: st.DrawFn, stream: bytes) -> list[bytes]:
    """The stream cut at arbitrary offsets: mid-CRLF, mid-character, empty chunks and all."""
    return split_at(stream, draw(st.lists(st.integers(0, len(stream)), max_size=12)))


def sdk_events(chunks: Iterable[bytes]) -> list[tuple[str, Any, str | None]]:
    """What the LangGraph SDK's client yields for a stream, decoded its own way."""
    lines = sdk_sse.BytesLineDecoder()
    decoder = sdk_sse.SSEDecoder()
    events = []

    def take(line: bytes) -> None:
        part = decoder.decode(line)
        if part is not None and (part.event or decoder.has_data):  # the SDK's yield rule
            events.append((part.event, part.data, part.id))

    for chunk in chunks:
        for line in lines.decode(chunk):
            take(bytes(line))
    for line in lines.flush():
        take(bytes(line))
    take(b"")  # at the end of the stream the SDK dispatches a pending block too
    return events


def httpx_sse_dispatches(chunks: Iterable[bytes]) -> list[httpx_sse.ServerSentEvent | None]:
    """httpx-sse's decoder's answer at each blank line, over lines split by the SDK."""
    lines = sdk_sse.BytesLineDecoder()
    decoder = HttpxSSEDecoder()
    # Only terminated lines: what flush adds is an unterminated last line, never blank.
    all_lines = [bytes(line) for chunk in chunks for line in lines.decode(chunk)]
    if all_lines:
        all_lines[0] = all_lines[0].removeprefix(BOM)
    results = []
    for line in all_lines:
        text = line.decode("utf-8", "replace")
        result = decoder.decode(text)
        if not text:
            results.append(result)
    return results


def json_or_none(data: str | None) -> Any:
    """The SDK's view of a data field: blank is None, anything else is parsed as JSON."""
    if data is None or not data.encode().strip():
        return None
    return orjson.loads(data)


@PROPERTY_SETTINGS
@given(st.data(), sse_streams())
def test_decoder_finds_the_generated_frames(
    data: st.DataObject, generated: tuple[bytes, list[bytes], bytes]
) -> None:
    """Whatever the chunking, the decoder returns the frames and tail the stream was made of."""
    stream, frames, tail = generated
    for chunks in ([stream], bytewise(stream), data.draw(chunkings(stream))):
        assert decode(chunks) == (frames, tail)


@PROPERTY_SETTINGS
@given(st.data(), token_soup | sse_streams().map(lambda generated: generated[0]))
def test_round_trip_and_chunking_independence(data: st.DataObject, stream: bytes) -> None:
    """encode(frames) + tail is the stream, and the frames do not depend on the chunking."""
    whole = decode([stream])
    assert encode_frames(whole[0]) + whole[1] == stream
    assert decode(bytewise(stream)) == whole
    assert decode(data.draw(chunkings(stream))) == whole


@PROPERTY_SETTINGS
@given(token_soup | sse_streams().map(lambda generated: generated[0]))
def test_frames_end_at_dispatch_points(stream: bytes) -> None:
    """Each frame's last line, and no other, is blank, and no CRLF is split between frames."""
    frames, tail = decode([stream])
    for index, raw in enumerate(frames):
        lines = (raw.removeprefix(BOM) if index == 0 else raw).splitlines(keepends=True)
        assert lines[-1] in LINE_ENDINGS
        assert not any(line in LINE_ENDINGS for line in lines[:-1])
    assert not any(line in LINE_ENDINGS for line in tail.splitlines(keepends=True))
    pieces = [*frames, tail]
    for before, after in itertools.pairwise(pieces):
        assert not (before.endswith(b"\r") and after.startswith(b"\n"))


@PROPERTY_SETTINGS
@given(st.data(), token_soup | sse_streams().map(lambda generated: generated[0]))
def test_events_agree_with_httpx_sse(data: st.DataObject, stream: bytes) -> None:
    """At each blank line httpx-sse dispatches what parse_frame reads from that frame."""
    chunks = data.draw(chunkings(stream))
    frames, _ = decode(chunks)
    dispatches = httpx_sse_dispatches(chunks)
    assert len(dispatches) == len(frames)  # one frame per blank line
    last_id = ""  # httpx-sse keeps the last id across frames, per the spec
    for frame, sse in zip(parse_all(frames), dispatches, strict=True):
        if frame.id is not None:
            last_id = frame.id
        if frame.is_event:
            assert sse is not None
            assert (sse.event, sse.data, sse.id) == (
                frame.event or "message",
                frame.data or "",
                last_id,
            )
        elif sse is not None:  # httpx-sse also dispatches blocks that only carry an id
            assert (sse.event, sse.data) == ("message", "")


@PROPERTY_SETTINGS
@given(st.data(), sse_streams(json_data=True))
def test_events_agree_with_the_langgraph_sdk(
    data: st.DataObject, generated: tuple[bytes, list[bytes], bytes]
) -> None:
    """The SDK yields the events parse_frame reads: same names, JSON data and ids."""
    stream = generated[0]
    chunks = data.draw(chunkings(stream))
    frames, tail = decode(chunks)
    expected = []
    last_id: str | None = None
    # At the end of the stream the SDK also dispatches an unterminated last block.
    for frame in parse_all([*frames, tail] if tail else frames):
        if frame.id is not None:
            last_id = frame.id
        if frame.is_event:
            expected.append((frame.event or "", json_or_none(frame.data), last_id or None))
    assert sdk_events(chunks) == expected


@settings(max_examples=300, deadline=None)
@given(st.binary() | token_soup, st.booleans())
def test_parse_frame_never_raises(raw: bytes, at_stream_start: bool) -> None:
    """parse_frame reads any bytes, invalid UTF-8 included, without raising."""
    frame = parse_frame(raw, at_stream_start=at_stream_start)
    assert frame.is_event in (True, False)
