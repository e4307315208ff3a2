"""The cassette file: round trips, layout, atomic writes, and errors for bad files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from streamcassette import (
    Body,
    Cassette,
    CassetteFormatError,
    CassetteNotFoundError,
    Interaction,
    RecordedError,
    RecordedFrame,
    RecordedRequest,
    RecordedResponse,
    RecordedStream,
    StreamEnd,
    UnsupportedVersionError,
    dumps,
    load,
    loads,
    save,
)

FRAMES = [
    RecordedFrame(0.0012, b'event: metadata\r\ndata: {"run_id":"r1"}\r\n\r\n'),
    # U+2028 raw inside a JSON string must survive the file untouched.
    RecordedFrame(0.5, 'event: updates\r\ndata: {"a":"x\u2028y"}\r\n\r\n'.encode()),
    RecordedFrame(0.75, b": heartbeat\n\n"),
    RecordedFrame(1.0, b"event: custom\rdata: \xff\xfe not utf-8\r\r"),
]


def sample() -> Cassette:
    return Cassette(
        provenance={"recorded_at": "2026-01-01T00:00:00+00:00", "streamcassette": "0.1.0"},
        interactions=[
            Interaction(
                request=RecordedRequest(
                    "POST",
                    "/threads",
                    headers=[("content-type", "application/json")],
                    body=Body(b"{}"),
                ),
                response=RecordedResponse(
                    200, [("content-type", "application/json")], body=Body(b'{"thread_id":"t1"}')
                ),
            ),
            Interaction(
                request=RecordedRequest(
                    "POST",
                    "/threads/t1/runs/stream",
                    query=[("a", "1")],
                    body=Body(b'{"input":{"topic":"ice cream"},"stream_mode":"updates"}'),
                ),
                response=RecordedResponse(
                    200,
                    [("content-type", "text/event-stream; charset=utf-8"), ("location", "/x")],
                    stream=RecordedStream(
                        frames=list(FRAMES),
                        end=StreamEnd.DROPPED,
                        tail=b'event: updates\r\ndata: {"trunc',
                        duration=1.25,
                        error=RecordedError("RemoteProtocolError", "peer closed connection"),
                    ),
                ),
            ),
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


def test_round_trip_keeps_every_byte(tmp_path: Path) -> None:
    """Saving then loading gives back the same interactions, frames, bytes and timings."""
    original = sample()
    path = save(original, tmp_path / "c.json")
    loaded = load(path)
    assert loaded.interactions == original.interactions
    assert loaded.provenance == original.provenance
    assert loaded.path == path


def test_json_bodies_are_stored_readably_only_when_exact() -> None:
    """A body is written as JSON when that reproduces its bytes, else as text."""
    cassette = Cassette(
        interactions=[
            Interaction(
                request=RecordedRequest("POST", "/a", body=Body(b'{"a": 1}')),  # spaced: not exact
                response=RecordedResponse(200, body=Body(b'{"b":[1,2]}')),
            )
        ]
    )
    doc = json.loads(dumps(cassette))
    interaction = doc["interactions"][0]
    assert interaction["request"]["text"] == '{"a": 1}'
    assert interaction["response"]["json"] == {"b": [1, 2]}
    assert loads(dumps(cassette)).interactions == cassette.interactions


def test_one_frame_per_line_and_stable_key_order() -> None:
    """Each frame sits on its own line, and the document's keys come in a fixed order."""
    text = dumps(sample())
    frame_lines = [line.strip() for line in text.splitlines() if line.strip().startswith("[0.")]
    assert len(frame_lines) == 3  # the non-UTF-8 frame starts with [1.0
    assert frame_lines[0].startswith('[0.0012, "event: metadata\\r\\ndata:')
    assert list(json.loads(text)) == ["format", "version", "provenance", "interactions"]
    assert dumps(loads(text)) == text


def test_atomic_save_leaves_old_file_on_failure(tmp_path: Path, monkeypatch) -> None:
    """A write that fails midway keeps the previous cassette and leaves no temp file."""
    path = save(sample(), tmp_path / "c.json")
    before = path.read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save(Cassette(), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


def test_bad_json_names_file_line_and_column(tmp_path: Path) -> None:
    """Corrupt JSON is reported with the file, line and column."""
    path = tmp_path / "broken.json"
    path.write_text('{\n  "format": "streamcassette",\n  "version": 1,,\n}\n')
    with pytest.raises(CassetteFormatError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}:3:")
    assert "not valid JSON" in str(info.value)
    assert info.value.line == 3


def test_unknown_version_lists_supported_versions(tmp_path: Path) -> None:
    """A newer format version says which versions this release reads and what to do."""
    path = tmp_path / "future.json"
    path.write_text(json.dumps({"format": "streamcassette", "version": 99, "interactions": []}))
    with pytest.raises(UnsupportedVersionError) as info:
        load(path)
    message = str(info.value)
    assert str(path) in message
    assert "format version 99 is not supported (this release reads 1, 2, 3)" in message
    assert "upgrade streamcassette" in message


def test_not_a_cassette(tmp_path: Path) -> None:
    """A JSON file of another kind is rejected as not a cassette, naming what it found."""
    path = tmp_path / "package.json"
    path.write_text('{"name": "demo"}')
    with pytest.raises(CassetteFormatError, match=r"not a streamcassette cassette .*found None"):
        load(path)
    path.write_text("[1, 2]")
    with pytest.raises(CassetteFormatError, match="found 'list'"):
        load(path)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("interactions"), "missing field 'interactions'"),
        (
            lambda d: d["interactions"][0]["request"].pop("method"),
            "interactions[0].request: missing field 'method'",
        ),
        (
            lambda d: d["interactions"][1]["response"].update(status="200"),
            'interactions[1].response.status: must be an integer, found "200"',
        ),
        (
            lambda d: d["interactions"][1]["response"]["stream"]["frames"].__setitem__(
                1, ["soon", "event: x\n\n"]
            ),
            "interactions[1].response.stream.frames[1]: offset must be a non-negative number",
        ),
        (
            lambda d: d["interactions"][1]["response"]["stream"]["frames"].__setitem__(2, [0.1]),
            "interactions[1].response.stream.frames[2]: a frame must be [offset_seconds, raw]",
        ),
        (
            lambda d: d["interactions"][1]["response"]["stream"].update(end="exploded"),
            "interactions[1].response.stream.end: must be one of 'closed', 'dropped', "
            "'client_stopped', found 'exploded'",
        ),
        (
            lambda d: d["interactions"][0]["request"].update(headers=[["a"]]),
            "interactions[0].request.headers[0]: must be [name, value]",
        ),
        (
            lambda d: d["interactions"][2].pop("error"),
            "interactions[2]: needs a 'response' or an 'error'",
        ),
        (
            lambda d: d["interactions"][0].update(started=-1),
            "interactions[0].started: must be seconds >= 0, found -1",
        ),
        (
            lambda d: d["interactions"][0].update(started="now"),
            'interactions[0].started: must be a number, found "now"',
        ),
    ],
)
def test_structural_errors_name_the_json_path(tmp_path: Path, mutate, expected: str) -> None:
    """Each structural problem is reported with the file and the JSON path of the bad value."""
    doc = json.loads(dumps(sample()))
    mutate(doc)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(CassetteFormatError) as info:
        load(path)
    assert str(info.value) == f"{path}: {expected}" or str(info.value).startswith(
        f"{path}: {expected}"
    )


def test_missing_file_and_directory(tmp_path: Path) -> None:
    """A missing cassette and a directory each get their own clear error."""
    with pytest.raises(CassetteNotFoundError, match="no such cassette"):
        load(tmp_path / "nope.json")
    with pytest.raises(CassetteFormatError, match="is a directory"):
        load(tmp_path)


def test_stream_raw_joins_frames_and_tail() -> None:
    """A stream's raw bytes are its frames then its unterminated tail, in order."""
    stream = sample().interactions[1].response.stream  # type: ignore[union-attr]
    assert stream.raw == b"".join(frame.raw for frame in FRAMES) + stream.tail
    assert [frame.event for frame in stream.events()] == ["metadata", "updates", "custom"]


def test_session_clock_start_times_round_trip_and_are_optional(tmp_path: Path) -> None:
    """``started`` (format 3) is written when known, read back, and absent in older files."""
    cassette = sample()
    cassette.interactions[0].started = 0.0
    cassette.interactions[1].started = 0.125
    path = save(cassette, tmp_path / "clock.json")
    doc = json.loads(path.read_text())
    assert doc["version"] == 3
    assert list(doc["interactions"][1])[:2] == ["started", "request"]
    assert "started" not in doc["interactions"][2]
    loaded = load(path)
    assert [i.started for i in loaded.interactions] == [0.0, 0.125, None, None]
    doc["version"] = 2
    for interaction in doc["interactions"]:
        interaction.pop("started", None)
    path.write_text(json.dumps(doc))
    assert {i.started for i in load(path).interactions} == {None}
