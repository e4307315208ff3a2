"""Attached frames (format version 2): a stream's bytes in a ``.sse`` file beside the cassette.

Round trips byte for byte, the layout of both files, which saves attach and which leave
a ``.sse`` file behind, every error a bad pair of files gets, ``AttachedFrames`` as a
sequence, and replay from attached frames.
"""

from __future__ import annotations

import copy
import json
import mmap
import pickle
import re
import tempfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fake_clock import FakeClock
from hypothesis import given, settings
from hypothesis import strategies as st

from streamcassette import (
    ATTACH_FROM,
    CURRENT_VERSION,
    AttachedFrames,
    Body,
    Cassette,
    CassetteFormatError,
    Interaction,
    RecordedError,
    RecordedFrame,
    RecordedRequest,
    RecordedResponse,
    RecordedStream,
    ReplayTransport,
    StreamEnd,
    attached_file,
    dumps,
    frames_file_path,
    load,
    loads,
    save,
)

SSE_HEADERS = [("content-type", "text/event-stream; charset=utf-8")]
STREAM_PATH = "/threads/t1/runs/stream"

FRAMES = [
    RecordedFrame(0.0012, b'event: metadata\r\ndata: {"run_id":"r1"}\r\n\r\n'),
    # U+2028 is a line break to some JSON readers; attached, it is just three bytes.
    RecordedFrame(0.5, 'event: updates\r\ndata: {"a":"x\u2028y"}\r\n\r\n'.encode()),
    RecordedFrame(0.75, b": heartbeat\n\n"),
    # CR-only line endings and bytes that are not UTF-8.
    RecordedFrame(1.0, b"event: custom\rdata: \xff\xfe not utf-8\r\r"),
]
# A stream that starts with a byte order mark, which only its first frame may carry.
BOM_FRAMES = [
    RecordedFrame(0.01, b"\xef\xbb\xbfevent: metadata\ndata: {}\n\n"),
    RecordedFrame(0.02, b"event: values\ndata: \xef\xbb\xbf1\n\n"),
]
TAIL = b'event: updates\r\ndata: {"trunc\xff'


def with_crc(frames: bytes) -> bytes:
    """A .sse file's bytes as ``save`` writes them: the frames, then their CRC-32 line."""
    return frames + b": streamcassette crc32 %08x\n" % zlib.crc32(frames)


def split_crc(data: bytes) -> tuple[bytes, bytes]:
    """A .sse file's frames and its CRC-32 line."""
    at = data.rindex(b": streamcassette crc32 ")
    return data[:at], data[at:]


def stream_interaction(
    frames: list[RecordedFrame], path: str = STREAM_PATH, **stream: Any
) -> Interaction:
    return Interaction(
        request=RecordedRequest("POST", path, body=Body(b'{"input":1}')),
        response=RecordedResponse(
            200, list(SSE_HEADERS), stream=RecordedStream(frames=list(frames), **stream)
        ),
    )


def json_interaction(path: str = "/threads") -> Interaction:
    return Interaction(
        request=RecordedRequest("POST", path, body=Body(b"{}")),
        response=RecordedResponse(
            200, [("content-type", "application/json")], body=Body(b'{"thread_id":"t1"}')
        ),
    )


def sample() -> Cassette:
    """Streams with awkward bytes, a dropped one with a tail, plain bodies, an error."""
    return Cassette(
        provenance={"recorded_at": "2026-01-01T00:00:00+00:00"},
        interactions=[
            json_interaction(),
            stream_interaction(
                FRAMES,
                end=StreamEnd.DROPPED,
                tail=TAIL,
                duration=1.25,
                error=RecordedError("RemoteProtocolError", "peer closed connection"),
            ),
            stream_interaction(BOM_FRAMES, "/threads/t2/runs/stream", duration=0.03),
            Interaction(
                request=RecordedRequest("GET", "/threads/t1/runs/r1"),
                error=RecordedError("ConnectError", "refused"),
            ),
            Interaction(
                request=RecordedRequest("GET", "/bin"),
                response=RecordedResponse(200, body=Body(b"\x00\x01binary")),
            ),
        ],
    )


def stream_of(cassette: Cassette, index: int) -> RecordedStream:
    response = cassette.interactions[index].response
    assert response is not None
    assert response.stream is not None
    return response.stream


def stream_doc(doc: dict[str, Any], index: int) -> dict[str, Any]:
    stream: dict[str, Any] = doc["interactions"][index]["response"]["stream"]
    return stream


def all_frames(cassette: Cassette) -> list[RecordedFrame]:
    return [frame for _, i in cassette.streams() for frame in i.response.stream.frames]  # type: ignore[union-attr]


# --- round trips and layout ------------------------------------------------------------


def test_round_trip_is_byte_exact(tmp_path: Path) -> None:
    """Attached frames load back with the same times and bytes; the rest is unchanged."""
    original = sample()
    path = save(original, tmp_path / "agent.json", attach=True)
    loaded = load(path)
    assert loaded.interactions == original.interactions
    assert loaded.provenance == original.provenance
    assert loaded.path == path
    for index in (1, 2):
        stream, before = stream_of(loaded, index), stream_of(original, index)
        assert isinstance(stream.frames, AttachedFrames)
        assert [(f.at, f.raw) for f in stream.frames] == [(f.at, f.raw) for f in before.frames]
        assert list(stream.raws()) == [f.raw for f in before.frames]
        assert stream.raw == before.raw
        assert stream.nbytes == before.nbytes
    dropped = stream_of(loaded, 1)
    assert dropped.tail == TAIL
    assert dropped.end is StreamEnd.DROPPED
    assert dropped.error == RecordedError("RemoteProtocolError", "peer closed connection")
    # Embedding the loaded cassette writes what embedding the original writes.
    assert dumps(loaded) == dumps(original)


def test_frames_file_is_the_frames_verbatim(tmp_path: Path) -> None:
    """The .sse file holds every stream's frames, stream after stream, and nothing else."""
    path = save(sample(), tmp_path / "agent.json", attach=True)
    sidecar = tmp_path / "agent.sse"
    assert frames_file_path(path) == sidecar
    assert sidecar.read_bytes() == with_crc(b"".join(f.raw for f in FRAMES + BOM_FRAMES))
    assert TAIL not in sidecar.read_bytes()  # the tail stays in the JSON


def test_layout_keeps_one_length_per_line_and_attached_before_frames(tmp_path: Path) -> None:
    """Each attached frame is an ``at, length`` line; tail and error stay in the JSON."""
    path = save(sample(), tmp_path / "agent.json", attach=True)
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert doc["version"] == CURRENT_VERSION
    dropped = stream_doc(doc, 1)
    assert list(dropped) == ["end", "duration", "error", "attached", "frames", "tail"]
    assert dropped["attached"] == {"offset": 0}
    assert dropped["frames"] == [value for f in FRAMES for value in (f.at, len(f.raw))]
    assert dropped["error"] == {"type": "RemoteProtocolError", "message": "peer closed connection"}
    assert dropped["tail"] == {"base64": "ZXZlbnQ6IHVwZGF0ZXMNCmRhdGE6IHsidHJ1bmP/"}
    assert '          "attached": {"offset": 0},\n' in text
    frame_lines = re.findall(r"^ {12}([0-9.e-]+), (\d+),?$", text, flags=re.MULTILINE)
    expected = [(repr(f.at), str(len(f.raw))) for f in FRAMES + BOM_FRAMES]
    assert frame_lines == expected
    # No frame bytes are embedded: no escaped frame text, no base64 except the tail's.
    assert "heartbeat" not in text
    assert "\u2028" not in text
    assert text.count("base64") == 1  # the tail's
    assert doc["interactions"][0]["response"]["json"] == {"thread_id": "t1"}


@pytest.mark.parametrize(
    "raw",
    [
        'data: {"a":"x\u2028y\u2029z"}\n\n'.encode(),
        b"event: a\rdata: cr only\r\r",
        b"\xef\xbb\xbfdata: bom\r\n\r\n",
        b"data: \xff\xfe\x00\x80 not utf-8\n\n",
        b"data: \xed\xa0\x80 a surrogate, encoded\n\n",
        b'data: "quotes" \\ backslash \t tab\n\n',
        "data: \U0001f600 emoji\n\n".encode(),
    ],
    ids=["u2028", "cr-only", "bom", "not-utf8", "surrogate", "escapes", "emoji"],
)
def test_awkward_frame_bytes_survive(tmp_path: Path, raw: bytes) -> None:
    """Bytes JSON would escape, re-encode or refuse come back exactly."""
    frames = [RecordedFrame(0.0, raw), RecordedFrame(0.5, b"data: next\n\n")]
    original = Cassette(interactions=[stream_interaction(frames)])
    path = save(original, tmp_path / "odd.json", attach=True)
    assert (tmp_path / "odd.sse").read_bytes() == with_crc(raw + b"data: next\n\n")
    loaded = stream_of(load(path), 0)
    assert [f.raw for f in loaded.frames] == [raw, b"data: next\n\n"]
    assert list(loaded.events()) == list(stream_of(original, 0).events())


def test_several_streams_share_one_file_at_increasing_offsets(tmp_path: Path) -> None:
    """Streams follow one another in one .sse file; plain bodies and empty streams stay JSON."""
    first = [RecordedFrame(0.1, b"data: 1\n\n"), RecordedFrame(0.2, b"data: 22\n\n")]
    second = [RecordedFrame(0.3, b"data: 333\n\n")]
    third = [RecordedFrame(0.4, b"data: 4444\n\n"), RecordedFrame(0.5, b": c\n\n")]
    original = Cassette(
        interactions=[
            stream_interaction(first, "/a/stream"),
            json_interaction(),
            stream_interaction(second, "/b/stream"),
            stream_interaction([], "/empty/stream", end=StreamEnd.CLIENT_STOPPED),
            stream_interaction(third, "/c/stream"),
        ]
    )
    path = save(original, tmp_path / "many.json", attach=True)
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["many.json", "many.sse"]
    doc = json.loads(path.read_text(encoding="utf-8"))
    sizes = [sum(len(f.raw) for f in frames) for frames in (first, second)]
    assert [stream_doc(doc, i)["attached"] for i in (0, 2, 4)] == [
        {"offset": 0},
        {"offset": sizes[0]},
        {"offset": sizes[0] + sizes[1]},
    ]
    empty = stream_doc(doc, 3)
    assert "attached" not in empty
    assert empty["frames"] == []
    assert doc["interactions"][1]["response"]["json"] == {"thread_id": "t1"}
    assert "stream" not in doc["interactions"][1]["response"]
    assert (tmp_path / "many.sse").read_bytes() == with_crc(
        b"".join(f.raw for f in first + second + third)
    )

    loaded = load(path)
    assert loaded.interactions == original.interactions
    assert [list(stream_of(loaded, i).frames) for i in (0, 2, 4)] == [first, second, third]
    assert stream_of(loaded, 3).frames == []
    assert not isinstance(stream_of(loaded, 3).frames, AttachedFrames)
    assert loaded.interactions[1].response.body == Body(b'{"thread_id":"t1"}')  # type: ignore[union-attr]


def test_cassette_without_frames_gets_no_frames_file(tmp_path: Path) -> None:
    """Asked to attach, a cassette with no frames has nothing to attach: one file."""
    original = Cassette(
        interactions=[json_interaction(), stream_interaction([], end=StreamEnd.CLIENT_STOPPED)]
    )
    path = save(original, tmp_path / "bare.json", attach=True)
    assert [p.name for p in tmp_path.iterdir()] == ["bare.json"]
    assert '"attached"' not in path.read_text(encoding="utf-8")
    assert load(path).interactions == original.interactions


# --- when save attaches --------------------------------------------------------------------


def cassette_of_size(total: int) -> Cassette:
    """Two streams whose frames total exactly ``total`` bytes: the threshold is per cassette."""
    half = total // 2
    big = [RecordedFrame(0.1, b"data: " + b"x" * (half - 8) + b"\n\n")]
    rest = [RecordedFrame(0.2, b"data: " + b"y" * (total - half - 8) + b"\n\n")]
    cassette = Cassette(
        interactions=[stream_interaction(big, "/a/stream"), stream_interaction(rest, "/b/stream")]
    )
    assert sum(len(f.raw) for f in all_frames(cassette)) == total
    return cassette


@pytest.mark.parametrize(
    ("total", "attached"),
    [(ATTACH_FROM - 1, False), (ATTACH_FROM, True), (ATTACH_FROM + 1, True)],
    ids=["just-below", "at", "above"],
)
def test_auto_attaches_from_the_threshold(tmp_path: Path, total: int, attached: bool) -> None:
    """By default frames are attached once the cassette's frames reach ATTACH_FROM bytes."""
    original = cassette_of_size(total)
    path = save(original, tmp_path / "auto.json")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == (["auto.json", "auto.sse"] if attached else ["auto.json"])
    assert ('"attached"' in path.read_text(encoding="utf-8")) is attached
    loaded = load(path)
    assert isinstance(stream_of(loaded, 0).frames, AttachedFrames) is attached
    assert loaded.interactions == original.interactions


def test_attach_false_embeds_even_big_frames(tmp_path: Path) -> None:
    """``attach=False`` keeps every frame in the JSON, however big."""
    original = cassette_of_size(ATTACH_FROM + 10)
    path = save(original, tmp_path / "embedded.json", attach=False)
    assert [p.name for p in tmp_path.iterdir()] == ["embedded.json"]
    assert '"attached"' not in path.read_text(encoding="utf-8")
    assert load(path).interactions == original.interactions


# --- saving again --------------------------------------------------------------------------


@pytest.mark.parametrize("big", [False, True], ids=["read", "mapped"])
def test_resaving_in_place_is_byte_identical(tmp_path: Path, big: bool) -> None:
    """A loaded cassette saved over its own files, whose .sse it is reading, is unchanged."""
    original = cassette_of_size(ATTACH_FROM + 100) if big else sample()
    path = save(original, tmp_path / "c.json", attach=True)
    sidecar = frames_file_path(path)
    before = path.read_bytes(), sidecar.read_bytes()
    loaded = load(path)
    frames = stream_of(loaded, 1 if not big else 0).frames
    assert isinstance(frames, AttachedFrames)
    assert isinstance(frames._buffer, mmap.mmap) is big  # the case this test is about

    assert save(loaded, attach=None if big else True) == path  # to where it was loaded from
    assert (path.read_bytes(), sidecar.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json", "c.sse"]  # no temp files
    # The loaded cassette still reads its frames, and the new files load the same.
    assert loaded.interactions == original.interactions
    assert load(path).interactions == original.interactions


def test_saving_elsewhere_copies_the_frames(tmp_path: Path) -> None:
    """Saving a loaded attached cassette to a new path writes its own .sse file there."""
    path = save(sample(), tmp_path / "c.json", attach=True)
    before = path.read_bytes(), (tmp_path / "c.sse").read_bytes()
    loaded = load(path)
    copy = save(loaded, tmp_path / "other" / "copy.json", attach=True)
    assert (tmp_path / "other" / "copy.sse").read_bytes() == before[1]
    assert copy.read_text(encoding="utf-8") == before[0].decode().replace(
        '"file": "c.sse"', '"file": "copy.sse"'
    )
    assert (path.read_bytes(), (tmp_path / "c.sse").read_bytes()) == before
    assert load(copy).interactions == sample().interactions
    assert loaded.path == copy


@pytest.mark.parametrize("attach", [False, None], ids=["attach-false", "auto-small"])
def test_saving_embedded_removes_the_stale_frames_file(tmp_path: Path, attach: bool | None) -> None:
    """A .sse file the old cassette named, and the new one does not need, is removed."""
    path = save(sample(), tmp_path / "c.json", attach=True)
    loaded = load(path)
    save(loaded, path, attach=attach)
    assert [p.name for p in tmp_path.iterdir()] == ["c.json"]
    assert '"attached"' not in path.read_text(encoding="utf-8")
    reloaded = load(path)
    assert not isinstance(stream_of(reloaded, 1).frames, AttachedFrames)
    assert reloaded.interactions == sample().interactions
    assert path.read_text(encoding="utf-8") == dumps(sample())


def test_unrelated_frames_file_is_left_alone(tmp_path: Path) -> None:
    """A ``x.sse`` that the cassette ``x.json`` never named is not the cassette's to remove."""
    unrelated = tmp_path / "x.sse"
    unrelated.write_bytes(b"data: someone else's\n\n")
    path = save(sample(), tmp_path / "x.json", attach=False)  # a new cassette
    save(load(path), path, attach=False)  # and over an embedded one
    assert unrelated.read_bytes() == b"data: someone else's\n\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json", "x.sse"]


def test_cassette_named_sse_gets_a_distinct_frames_file(tmp_path: Path) -> None:
    """The frames of ``x.sse`` go to ``x.sse.sse``, never over the cassette itself."""
    assert frames_file_path("dir/agent.json") == Path("dir/agent.sse")
    assert frames_file_path("agent") == Path("agent.sse")
    assert frames_file_path("x.sse") == Path("x.sse.sse")
    assert frames_file_path(Path("a/x.sse.sse")) == Path("a/x.sse.sse.sse")
    path = save(sample(), tmp_path / "x.sse", attach=True)
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == "streamcassette"
    assert (tmp_path / "x.sse.sse").read_bytes() == with_crc(
        b"".join(f.raw for f in FRAMES + BOM_FRAMES)
    )
    assert load(path).interactions == sample().interactions
    # Embedding it again removes its frames file, not the cassette.
    save(load(path), path, attach=False)
    assert [p.name for p in tmp_path.iterdir()] == ["x.sse"]
    assert load(path).interactions == sample().interactions


# --- errors ----------------------------------------------------------------------------


def saved_doc(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """An attached cassette on disk (streams at interactions 1 and 2), and its document."""
    path = save(sample(), tmp_path / "bad.json", attach=True)
    return path, json.loads(path.read_text(encoding="utf-8"))


def load_error(path: Path) -> str:
    with pytest.raises(CassetteFormatError) as info:
        load(path)
    assert info.value.path == path
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    return message


def test_missing_frames_file(tmp_path: Path) -> None:
    """A deleted .sse file is named, with what must be kept together."""
    path, _ = saved_doc(tmp_path)
    (tmp_path / "bad.sse").unlink()
    message = load_error(path)
    assert message.startswith(f"{path}: interactions[1].response.stream.attached: ")
    assert f"its frames are attached in {tmp_path / 'bad.sse'}, which is missing" in message
    assert "rename, copy and commit them together" in message


def test_truncated_frames_file(tmp_path: Path) -> None:
    """A .sse file too short for the frames names the stream and both sizes."""
    path, _ = saved_doc(tmp_path)
    sidecar = tmp_path / "bad.sse"
    data, crc_line = split_crc(sidecar.read_bytes())
    sidecar.write_bytes(data[:-3] + crc_line)
    message = load_error(path)
    # The second stream (interactions[2]) is the one that runs past the end.
    offset = sum(len(f.raw) for f in FRAMES)
    assert message.startswith(f"{path}: interactions[2].response.stream.attached: ")
    assert f"its 2 frames take bytes {offset} to {len(data)} of {sidecar}, " in message
    assert f"which has {len(data) - 3}" in message
    assert "not from the same save" in message


def test_empty_frames_round_trip(tmp_path: Path) -> None:
    """A hand-built empty frame saves as ``[at, 0]`` and loads back, as embedded ``""`` does."""
    frames = [RecordedFrame(0.1, b""), RecordedFrame(0.2, b"data: x\n\n")]
    path = save(
        Cassette(interactions=[stream_interaction(frames)]), tmp_path / "e.json", attach=True
    )
    assert list(stream_of(load(path), 0).frames) == frames


def test_overlapping_streams_are_refused(tmp_path: Path) -> None:
    """Two streams that claim the same bytes are not what ``save`` wrote, even when the
    sizes add up to the file's."""
    path, doc = saved_doc(tmp_path)
    first, second = stream_doc(doc, 1), stream_doc(doc, 2)
    first_size = sum(first["frames"][1::2])
    second["attached"]["offset"] = first_size - 2  # two bytes claimed twice
    path.write_text(json.dumps(doc), encoding="utf-8")
    message = load_error(path)
    assert "two of its streams share bytes" in message
    assert str(tmp_path / "bad.sse") in message


def test_unreadable_frames_file_is_named(tmp_path: Path) -> None:
    """A .sse that is a folder gets a format error naming it, not a bare OSError."""
    path, _ = saved_doc(tmp_path)
    sidecar = tmp_path / "bad.sse"
    sidecar.unlink()
    sidecar.mkdir()
    message = load_error(path)
    assert message.startswith(f"{path}: interactions[1].response.stream.attached: ")
    assert f"cannot read its frames file {sidecar}" in message


def test_frames_file_with_extra_bytes(tmp_path: Path) -> None:
    """A .sse file longer than its streams is not the one the cassette was saved with."""
    path, _ = saved_doc(tmp_path)
    sidecar = tmp_path / "bad.sse"
    data, crc_line = split_crc(sidecar.read_bytes())
    extra = b"data: extra\n\n"
    sidecar.write_bytes(data + extra + crc_line)
    message = load_error(path)
    assert message.startswith(
        f"{path}: its streams account for {len(data)} bytes of {sidecar}, "
        f"which has {len(data) + len(extra)} bytes of frames; "
    )
    assert "not from the same save" in message


@pytest.mark.parametrize(
    ("newline", "converted"), [(b"\n", b"\r\n"), (b"\r\n", b"\n")], ids=["lf-to-crlf", "crlf-to-lf"]
)
def test_converted_line_endings_are_explained(
    tmp_path: Path, newline: bytes, converted: bytes
) -> None:
    """A .sse file whose line endings git converted says so, and how to stop it."""
    frames = [
        RecordedFrame(0.1, b"event: a" + newline + b"data: 1" + newline + newline),
        RecordedFrame(0.2, b"event: b" + newline + b"data: 2" + newline + newline),
    ]
    cassette = Cassette(interactions=[stream_interaction(frames)])
    path = save(cassette, tmp_path / "g.json", attach=True)
    sidecar = tmp_path / "g.sse"
    data, crc_line = split_crc(sidecar.read_bytes())
    sidecar.write_bytes(data.replace(newline, converted) + crc_line)
    message = load_error(path)
    assert "line endings were converted" in message
    assert "mark *.sse as binary in .gitattributes" in message
    assert str(sidecar) in message


@pytest.mark.parametrize(
    ("pair", "where", "problem"),
    [
        ([0.1, "12"], 5, 'frame 2: length must be a non-negative integer, found "12"'),
        ([0.1, -3], 5, "frame 2: length must be a non-negative integer, found -3"),
        ([0.1, True], 5, "frame 2: length must be a non-negative integer, found true"),
        ([0.1, 12.0], 5, "frame 2: length must be a non-negative integer, found 12.0"),
        ([0.1, None], 5, "frame 2: length must be a non-negative integer, found null"),
        ([0.1, [5]], 5, "frame 2: length must be a non-negative integer, found [5]"),
        ([-1.0, 5], 4, "frame 2: offset must be a non-negative number of seconds, found -1.0"),
        (["soon", 5], 4, 'frame 2: offset must be a non-negative number of seconds, found "soon"'),
        ([True, 5], 4, "frame 2: offset must be a non-negative number of seconds, found true"),
        (
            [[0.1, 5], 5],
            4,
            "frame 2: offset must be a non-negative number of seconds, found [0.1, 5]",
        ),
    ],
)
def test_bad_attached_frame_values(
    tmp_path: Path, pair: list[Any], where: int, problem: str
) -> None:
    """A bad time or length is named by its index in the flat list and its frame number."""
    path, doc = saved_doc(tmp_path)
    stream_doc(doc, 1)["frames"][4:6] = pair
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert load_error(path) == f"{path}: interactions[1].response.stream.frames[{where}]: {problem}"


def test_odd_count_of_attached_frame_values(tmp_path: Path) -> None:
    """A number missing from the pairs (a hand edit) is caught before anything shifts."""
    path, doc = saved_doc(tmp_path)
    values = stream_doc(doc, 1)["frames"]
    del values[3]
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert load_error(path) == (
        f"{path}: interactions[1].response.stream.frames: attached frames are listed as "
        "seconds and length, a pair per frame; found an odd count of numbers "
        f"({len(values)})"
    )


def test_integer_times_in_attached_frames_still_load(tmp_path: Path) -> None:
    """A hand-written ``1, length`` is read as 1.0 seconds, like embedded frames are."""
    path, doc = saved_doc(tmp_path)
    stream_doc(doc, 1)["frames"][0] = 1
    path.write_text(json.dumps(doc), encoding="utf-8")
    frames = stream_of(load(path), 1).frames
    assert frames[0] == RecordedFrame(1.0, FRAMES[0].raw)
    assert type(frames[0].at) is float


def test_renamed_pair_still_loads(tmp_path: Path) -> None:
    """The .sse file is found by the cassette's name: renaming both files keeps the pair."""
    path, _ = saved_doc(tmp_path)
    renamed = path.rename(tmp_path / "renamed.json")
    (tmp_path / "bad.sse").rename(tmp_path / "renamed.sse")
    assert load(renamed).interactions == sample().interactions
    assert attached_file(renamed) == tmp_path / "renamed.sse"


def test_copied_cassette_without_its_frames_file_says_so(tmp_path: Path) -> None:
    """Copying only the JSON gives a clear error, not another cassette's frames."""
    path, _ = saved_doc(tmp_path)
    copy = tmp_path / "copy.json"
    copy.write_bytes(path.read_bytes())
    message = load_error(copy)
    assert f"its frames are attached in {tmp_path / 'copy.sse'}, which is missing" in message


def test_loads_without_a_path_cannot_find_attached_frames(tmp_path: Path) -> None:
    """Text alone does not say where the .sse file is: the error says how to load it."""
    path, _ = saved_doc(tmp_path)
    text = path.read_text(encoding="utf-8")
    with pytest.raises(CassetteFormatError) as info:
        loads(text)
    assert str(info.value) == (
        "<cassette>: interactions[1].response.stream.attached: its frames are attached in "
        "the cassette's .sse file, so the cassette must be loaded from its file "
        "(load(path), or loads(text, path=...))"
    )
    # With the path, the same text loads.
    assert loads(text, path=path).interactions == sample().interactions


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda s: s.update(attached="x.sse"),
            'interactions[1].response.stream.attached: must be an object, found "x.sse"',
        ),
        (
            lambda s: s["attached"].pop("offset"),
            "interactions[1].response.stream.attached: missing field 'offset'",
        ),
        (
            lambda s: s["attached"].update(offset="0"),
            'interactions[1].response.stream.attached.offset: must be an integer, found "0"',
        ),
        (
            lambda s: s["attached"].update(offset=False),
            "interactions[1].response.stream.attached.offset: must be an integer, found false",
        ),
        (
            lambda s: s["attached"].update(offset=-1),
            "interactions[1].response.stream.attached: its 4 frames take bytes -1 to ",
        ),
        (
            lambda s: s["attached"].update(offset=10**9),
            f"interactions[1].response.stream.attached: its 4 frames take bytes {10**9} to ",
        ),
    ],
    ids=["not-object", "no-offset", "offset-str", "offset-bool", "negative", "beyond"],
)
def test_bad_attached_objects(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], object], expected: str
) -> None:
    """``attached`` must be ``{"offset": n}`` with n inside the .sse file."""
    path, doc = saved_doc(tmp_path)
    mutate(stream_doc(doc, 1))
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert load_error(path).startswith(f"{path}: {expected}")


# --- version 1 -----------------------------------------------------------------------------

V1_TEXT = r"""{
  "format": "streamcassette",
  "version": 1,
  "provenance": {"streamcassette": "0.1.0"},
  "interactions": [
    {
      "request": {"method": "POST", "path": "/threads/t1/runs/stream", "query": [], "headers": []},
      "response": {
        "status": 200,
        "headers": [["content-type", "text/event-stream; charset=utf-8"]],
        "stream": {
          "end": "closed",
          "duration": 0.5,
          "frames": [
            [0.001, "event: metadata\r\ndata: {\"run_id\":\"r1\"}\r\n\r\n"],
            [0.25, {"base64": "ZGF0YTog//4KCg=="}]
          ]
        }
      }
    }
  ]
}
"""


def test_version_1_file_still_loads(tmp_path: Path) -> None:
    """A version 1 file (embedded frames) loads as it did, and saves as version 2."""
    path = tmp_path / "old.json"
    path.write_text(V1_TEXT, encoding="utf-8")
    loaded = load(path)
    stream = stream_of(loaded, 0)
    assert not isinstance(stream.frames, AttachedFrames)
    assert list(stream.frames) == [
        RecordedFrame(0.001, b'event: metadata\r\ndata: {"run_id":"r1"}\r\n\r\n'),
        RecordedFrame(0.25, b"data: \xff\xfe\n\n"),
    ]
    assert loaded.provenance == {"streamcassette": "0.1.0"}
    save(loaded, path)
    assert json.loads(path.read_text(encoding="utf-8"))["version"] == CURRENT_VERSION
    assert [p.name for p in tmp_path.iterdir()] == ["old.json"]
    assert load(path).interactions == loaded.interactions


def test_version_1_file_with_an_attached_stream_is_read_as_version_2(tmp_path: Path) -> None:
    """Version 1 never wrote ``attached``, but the upgrade does not reject it: it reads it."""
    path, doc = saved_doc(tmp_path)
    doc["version"] = 1
    path.write_text(json.dumps(doc), encoding="utf-8")
    loaded = load(path)
    assert isinstance(stream_of(loaded, 1).frames, AttachedFrames)
    assert loaded.interactions == sample().interactions


# --- AttachedFrames as a sequence ----------------------------------------------------------

PARTS = [b"data: a\n\n", b"data: bb\n\n", b"\xff\xfe\n\n"]
ATS = [0.1, 0.2, 0.3]
EXPECTED = [RecordedFrame(at, raw) for at, raw in zip(ATS, PARTS, strict=True)]


def attached_frames() -> AttachedFrames:
    """Frames that start partway into their buffer, as a later stream's do."""
    buffer = b"earlier stream|" + b"".join(PARTS) + b"|later stream"
    return AttachedFrames(buffer, len(b"earlier stream|"), [len(p) for p in PARTS], ATS)


def test_attached_frames_length_indexing_and_slicing() -> None:
    """Indexing (negative too) cuts one frame; slices are lists of frames."""
    frames = attached_frames()
    assert len(frames) == 3
    assert frames[0] == EXPECTED[0]
    assert frames[2] == RecordedFrame(0.3, b"\xff\xfe\n\n")
    assert frames[-1] == EXPECTED[2]
    assert frames[-3] == EXPECTED[0]
    assert type(frames[1]) is RecordedFrame
    assert type(frames[1].raw) is bytes
    for index in (3, -4, 100):
        with pytest.raises(IndexError, match="frame index out of range"):
            frames[index]
    assert frames[1:] == EXPECTED[1:]
    assert type(frames[1:]) is list
    assert frames[::-1] == EXPECTED[::-1]
    assert frames[::2] == [EXPECTED[0], EXPECTED[2]]
    assert frames[5:] == []
    assert frames[:] == EXPECTED


def test_attached_frames_iteration_and_sequence_methods() -> None:
    """Iteration gives frames in order; the Sequence mixins work on top of indexing."""
    frames = attached_frames()
    assert list(frames) == EXPECTED
    assert list(frames.raws()) == PARTS
    assert list(reversed(frames)) == EXPECTED[::-1]
    assert EXPECTED[1] in frames
    assert RecordedFrame(0.2, b"data: a\n\n") not in frames
    assert frames.index(EXPECTED[2]) == 2
    assert frames.count(EXPECTED[0]) == 1
    at, raw = frames[1]
    assert (at, raw) == (0.2, b"data: bb\n\n")


def test_attached_frames_equality_from_either_side() -> None:
    """Equal to a list (or tuple) of the same frames, whichever side ``==`` starts from."""
    frames = attached_frames()
    assert frames == EXPECTED
    assert EXPECTED == frames  # noqa: SIM300 -- the list's side of == is what is tested
    assert frames == tuple(EXPECTED)
    assert frames == attached_frames()
    assert not frames != EXPECTED  # noqa: SIM202 -- the != operator is what is tested
    assert EXPECTED[:2] != frames
    assert frames != EXPECTED[:2]
    assert frames != [*EXPECTED[:2], RecordedFrame(0.3, b"\xff\xfd\n\n")]
    assert frames != [*EXPECTED[:2], RecordedFrame(0.31, b"\xff\xfe\n\n")]
    assert frames != b"".join(PARTS)
    assert frames != "frames"
    with pytest.raises(TypeError):
        hash(frames)


def test_attached_frames_repr_and_nbytes() -> None:
    """``repr`` and ``nbytes`` say how many frames and bytes, not the bytes themselves."""
    frames = attached_frames()
    assert frames.nbytes == sum(map(len, PARTS))
    assert repr(frames) == f"<AttachedFrames: 3 frames, {sum(map(len, PARTS))} bytes>"
    empty = AttachedFrames(b"abc", 2, [], [])
    assert len(empty) == 0
    assert empty.nbytes == 0
    assert list(empty) == []
    assert empty == []
    stream = RecordedStream(frames=frames, tail=b"tail")
    assert stream.nbytes == frames.nbytes
    assert stream.raw == b"".join(PARTS) + b"tail"


def test_attached_frames_needs_a_time_per_length() -> None:
    with pytest.raises(ValueError, match="2 frame lengths for 3 frame times"):
        AttachedFrames(b"abcdef", 0, [1, 2], [0.1, 0.2, 0.3])


# --- replay ----------------------------------------------------------------------------

REPLAY_FRAMES = [
    RecordedFrame(0.5, b'event: metadata\r\ndata: {"run_id":"r1"}\r\n\r\n'),
    RecordedFrame(1.5, b"event: updates\r\ndata: \xff not utf-8\r\n\r\n"),
    RecordedFrame(1.75, 'event: updates\ndata: "\u2028"\n\n'.encode()),
]
REPLAY_RAWS = [f.raw for f in REPLAY_FRAMES]


def replay_cassette(tmp_path: Path, *, at_scale: float = 1.0) -> Cassette:
    """A loaded attached cassette: a JSON body, then a closed stream, then a dropped one."""
    frames = [f._replace(at=f.at * at_scale) for f in REPLAY_FRAMES]
    original = Cassette(
        interactions=[
            json_interaction(),
            stream_interaction(frames, duration=2.0 * at_scale),
            stream_interaction(
                frames[:1],
                "/threads/t1/runs/dropped/stream",
                end=StreamEnd.DROPPED,
                tail=b"event: upd",
                error=RecordedError("RemoteProtocolError", "peer closed"),
            ),
        ]
    )
    loaded = load(save(original, tmp_path / "replay.json", attach=True))
    assert isinstance(stream_of(loaded, 1).frames, AttachedFrames)
    return loaded


@pytest.mark.parametrize("speed", [None, 2.0], ids=["instant", "speed-2"])
def test_attached_cassette_replays_sync(
    tmp_path: Path, replay_clock: FakeClock, speed: float | None
) -> None:
    """A sync client gets each attached frame as one chunk, byte for byte, then the end."""
    cassette = replay_cassette(tmp_path)
    transport = ReplayTransport(cassette, speed=speed)
    with httpx.Client(transport=transport, base_url="http://x") as client:
        assert client.post("/threads", content=b"{}").json() == {"thread_id": "t1"}
        with client.stream("POST", STREAM_PATH, content=b'{"input":1}') as response:
            assert response.headers["content-type"] == SSE_HEADERS[0][1]
            assert list(response.iter_raw()) == REPLAY_RAWS
        received: list[bytes] = []
        with (
            pytest.raises(httpx.RemoteProtocolError, match="peer closed"),
            client.stream(
                "POST", "/threads/t1/runs/dropped/stream", content=b'{"input":1}'
            ) as response,
        ):
            received.extend(response.iter_raw())
    assert received == [REPLAY_RAWS[0], b"event: upd"]
    # Paced replay waited for the attached frames' recorded times, halved; instant never.
    assert replay_clock.sleeps == ([0.25, 0.5, 0.125, 0.25] if speed else [])


async def read_dropped(client: httpx.AsyncClient, received: list[bytes]) -> None:
    """Read the dropped stream into ``received`` chunk by chunk, up to its error."""
    path = "/threads/t1/runs/dropped/stream"
    async with client.stream("POST", path, content=b'{"input":1}') as response:
        async for chunk in response.aiter_raw():
            received.append(chunk)


@pytest.mark.anyio
@pytest.mark.parametrize("speed", [None, 1000.0], ids=["instant", "speed-1000"])
async def test_attached_cassette_replays_async(tmp_path: Path, speed: float | None) -> None:
    """An async client gets the same chunks, instantly or paced (here: microseconds)."""
    cassette = replay_cassette(tmp_path, at_scale=0.001)
    transport = ReplayTransport(cassette, speed=speed)
    async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
        assert (await client.post("/threads", content=b"{}")).json() == {"thread_id": "t1"}
        async with client.stream("POST", STREAM_PATH, content=b'{"input":1}') as response:
            chunks = [chunk async for chunk in response.aiter_raw()]
        assert chunks == REPLAY_RAWS
        received: list[bytes] = []
        with pytest.raises(httpx.RemoteProtocolError, match="peer closed"):
            await read_dropped(client, received)
    assert received == [REPLAY_RAWS[0], b"event: upd"]


# --- property ----------------------------------------------------------------------------

# Times as save writes them (six decimals), so the round trip is exact by construction.
times = st.integers(min_value=0, max_value=10**10).map(lambda micros: micros / 1e6)
raws = st.one_of(
    st.binary(min_size=1, max_size=48),  # mostly not UTF-8
    st.text(min_size=1, max_size=24).map(lambda text: text.encode("utf-8", "surrogatepass")),
)
streams = st.lists(st.builds(RecordedFrame, times, raws), max_size=8)


@settings(max_examples=60, deadline=None)
@given(
    frames_per_stream=st.lists(streams, min_size=1, max_size=3),
    tail=st.binary(max_size=12),
    end=st.sampled_from(StreamEnd),
)
def test_any_frames_round_trip_attached(
    frames_per_stream: list[list[RecordedFrame]], tail: bytes, end: StreamEnd
) -> None:
    """Whatever the bytes and times, attached frames load back exactly as they were."""
    original = Cassette(
        interactions=[
            stream_interaction(frames, f"/s{index}/stream", tail=tail, end=end)
            for index, frames in enumerate(frames_per_stream)
        ]
    )
    with tempfile.TemporaryDirectory() as folder:
        path = save(original, Path(folder) / "p.json", attach=True)
        sidecar = frames_file_path(path)
        expected_bytes = b"".join(f.raw for frames in frames_per_stream for f in frames)
        assert sidecar.exists() is bool(expected_bytes)
        if expected_bytes:
            assert sidecar.read_bytes() == with_crc(expected_bytes)
        loaded = load(path)
        for index, frames in enumerate(frames_per_stream):
            stream = stream_of(loaded, index)
            assert [(f.at, f.raw) for f in stream.frames] == [(f.at, f.raw) for f in frames]
            assert stream.raw == b"".join(f.raw for f in frames) + tail
            assert stream.end is end
        assert loaded.interactions == original.interactions


def test_mapped_frames_copy_and_pickle_with_their_own_bytes(tmp_path: Path) -> None:
    """A deep copy or a pickle of a cassette whose .sse file is mapped holds the bytes
    itself: it reads the same after the file is gone."""
    frames = [RecordedFrame(round(i / 1000, 6), b"data: %d\n\n" % i) for i in range(120_000)]
    original = Cassette(interactions=[stream_interaction(frames)])
    path = save(original, tmp_path / "big.json", attach=True)
    loaded = load(path)
    assert isinstance(stream_of(loaded, 0).frames._buffer, mmap.mmap)
    copied = copy.deepcopy(loaded)
    unpickled = pickle.loads(pickle.dumps(loaded))
    path.unlink()
    frames_file_path(path).unlink()
    for other in (copied, unpickled):
        assert other.interactions == original.interactions
        assert stream_of(other, 0).frames.source == frames_file_path(path)  # type: ignore[union-attr]
