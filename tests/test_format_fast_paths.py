"""The fast paths of loading and saving behave exactly like the plain ones they replace."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamcassette import (
    Cassette,
    CassetteFormatError,
    Interaction,
    RecordedFrame,
    RecordedRequest,
    RecordedResponse,
    RecordedStream,
    dumps,
    load,
    loads,
    save,
)
from streamcassette._format import _MAP_FROM, _j_text

SSE = [("content-type", "text/event-stream")]


def stream_cassette(frames: list[RecordedFrame]) -> Cassette:
    return Cassette(
        interactions=[
            Interaction(
                request=RecordedRequest("POST", "/runs/stream"),
                response=RecordedResponse(200, SSE, stream=RecordedStream(frames=frames)),
            )
        ]
    )


def with_frame(frame: list[object]) -> str:
    """A valid cassette's text with its second frame replaced by ``frame``."""
    doc = json.loads(dumps(stream_cassette([RecordedFrame(0.1, b"data: a\n\n")] * 3)))
    doc["interactions"][0]["response"]["stream"]["frames"][1] = frame
    return json.dumps(doc)


@pytest.fixture
def gc_enabled() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


def test_text_escaping_matches_json_dumps_on_every_code_point() -> None:
    """Frame text is escaped exactly as ``json.dumps(ensure_ascii=False)`` escapes it."""
    text = "".join(chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)
    assert _j_text(text) == json.dumps(text, ensure_ascii=False)


def test_save_writes_exactly_dumps(tmp_path: Path) -> None:
    """``save`` writes its pieces one by one, and the file is byte for byte ``dumps``."""
    frames = [
        RecordedFrame(0.000001, 'data: "caf\u00e9 \U0001f324"\r\n\r\n'.encode()),
        RecordedFrame(0.5, b"data: \xff not utf-8\n\n"),
        RecordedFrame(2.0, b"event: end\n\n"),
    ]
    cassette = stream_cassette(frames)
    path = save(cassette, tmp_path / "c.json")
    assert path.read_text(encoding="utf-8") == dumps(cassette)
    assert load(path).interactions == cassette.interactions


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (["0.5", "data: a\n\n"], "offset must be a non-negative number, found '0.5'"),
        ([True, "data: a\n\n"], "offset must be a non-negative number, found True"),
        ([-0.5, "data: a\n\n"], "offset must be a non-negative number, found -0.5"),
        ([0.5, "data: a\n\n", "extra"], "a frame must be [offset_seconds, raw]"),
        ([0.5, 7], 'raw bytes must be a string or {"base64": ...}, found 7'),
    ],
)
def test_fast_frame_path_rejects_what_the_checked_path_rejects(frame, problem: str) -> None:
    """A string, bool or negative offset is an error, not quietly converted to a float."""
    with pytest.raises(CassetteFormatError) as info:
        loads(with_frame(frame), path="c.json")
    assert str(info.value).startswith("c.json: interactions[0].response.stream.frames[1]: ")
    assert problem in str(info.value)


def test_integer_offsets_and_base64_frames_still_load() -> None:
    """Frames the fast path leaves to the checked path (int offset, base64) still load."""
    response = loads(with_frame([2, {"base64": "3/4="}])).interactions[0].response
    assert response is not None
    assert response.stream is not None
    assert response.stream.frames[1] == RecordedFrame(2.0, b"\xdf\xfe")
    assert type(response.stream.frames[1].at) is float


def test_big_file_is_mapped_and_loads_like_its_bytes(tmp_path: Path) -> None:
    """A cassette above the mapping threshold loads to the same model as its text."""
    frame = RecordedFrame(0.25, b"event: messages\r\ndata: " + b"x" * 1000 + b"\r\n\r\n")
    cassette = stream_cassette([frame] * (_MAP_FROM // 1000 + 1))
    path = save(cassette, tmp_path / "big.json", attach=False)
    assert path.stat().st_size >= _MAP_FROM
    assert load(path).interactions == loads(path.read_bytes()).interactions


def test_big_file_with_bad_json_names_line_and_column(tmp_path: Path) -> None:
    """A mapped file that is not JSON still gets the file, line and column in the error."""
    path = tmp_path / "big.json"
    path.write_bytes(b"{\n" + b" " * _MAP_FROM + b"oops")
    with pytest.raises(CassetteFormatError, match=r"big\.json:2:\d+: not valid JSON"):
        load(path)


def test_loading_restores_the_garbage_collector(gc_enabled: None) -> None:
    """The collector paused during a load is on again afterwards, even when the load fails."""
    loads(dumps(stream_cassette([RecordedFrame(0.1, b"data: a\n\n")])))
    assert gc.isenabled()
    with pytest.raises(CassetteFormatError):
        loads(with_frame(["soon", "data: a\n\n"]))
    assert gc.isenabled()


def test_loading_leaves_a_disabled_collector_disabled(gc_enabled: None) -> None:
    """A program that turned the collector off finds it still off after a load."""
    gc.disable()
    loads(dumps(stream_cassette([RecordedFrame(0.1, b"data: a\n\n")])))
    assert not gc.isenabled()
