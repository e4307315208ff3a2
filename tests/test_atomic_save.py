"""A cassette and its .sse file are replaced as one unit: no reader, crash or concurrent
writer observes or leaves a mixed pair."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from streamcassette import CassetteFormatError, load, save
from streamcassette._cassette import Cassette
from streamcassette._format import attached_file, frames_file_path

# Each writer's frames have the same lengths (the hard case: a mixed pair whose offsets all
# fit) and name the writer in every frame.
WRITER = """
import sys
from pathlib import Path
from streamcassette._cassette import *
from streamcassette._format import save

def cassette(writer):
    frames = [RecordedFrame(0.01 * i, b"data: w%d f%03d\\n\\n" % (writer, i)) for i in range(200)]
    stream = RecordedStream(frames=frames)
    request = RecordedRequest("POST", "/runs/stream", body=Body(b"{}"))
    response = RecordedResponse(200, [("content-type", "text/event-stream")], stream=stream)
    return Cassette(
        provenance={"writer": writer}, interactions=[Interaction(request, response)]
    )
"""


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def writers_of(cassette: Cassette) -> set[bytes]:
    """Which writers' frames a loaded cassette holds (one, unless the pair is mixed)."""
    stream = cassette.interactions[0].response
    assert stream is not None
    assert stream.stream is not None
    return {frame.raw.split()[1] for frame in stream.stream.frames}


def make(writer: int) -> Cassette:
    namespace: dict[str, object] = {}
    exec(WRITER, namespace)  # the same cassettes the child processes write
    made = namespace["cassette"](writer)  # type: ignore[operator]
    assert isinstance(made, Cassette)
    return made


def test_concurrent_writers_and_readers_never_see_a_mixed_pair(tmp_path: Path) -> None:
    """Four processes save different recordings to one path, attached and embedded in
    turn, while a fifth loads it in a loop: every load is one writer's recording whole (an
    embedded save deleting the .sse file of the attached one just read is read again), and
    the last save wins whole."""
    path = tmp_path / "shared.json"
    save(make(9), path, attach=True)
    writer_code = (
        WRITER
        + """
path = Path(sys.argv[1])
writer = int(sys.argv[2])
for turn in range(40):
    save(cassette(writer), path, attach=bool((turn + writer) % 2))
"""
    )
    reader_code = """
import sys
from pathlib import Path
from streamcassette._format import load
path = Path(sys.argv[1])
stop = Path(sys.argv[2])
loads = mixed = 0
while not stop.exists() or loads < 50:
    cassette = load(path)
    frames = cassette.interactions[0].response.stream.frames
    writers = {frame.raw.split()[1] for frame in frames}
    owner = b"w%d" % cassette.provenance["writer"]
    if writers != {owner}:
        mixed += 1
    loads += 1
print(loads, mixed)
"""
    stop = tmp_path / "stop"
    reader = run_python(reader_code, str(path), str(stop))
    writers = [run_python(writer_code, str(path), str(n)) for n in range(4)]
    for process in writers:
        _, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
    stop.touch()
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    loads, mixed = map(int, out.split())
    assert loads >= 50
    assert mixed == 0
    final = load(path)
    assert writers_of(final) == {b"w%d" % final.provenance["writer"]}
    attached = ["shared.sse"] if attached_file(path) is not None else []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.json", *attached, "stop"]


@pytest.mark.parametrize("attempt", range(3))
def test_crash_between_the_two_renames_leaves_a_pair_load_refuses(
    tmp_path: Path, attempt: int
) -> None:
    """A process killed after renaming the new .sse but before the cassette leaves files
    that load refuses, naming both, rather than a mix of two recordings."""
    path = tmp_path / "c.json"
    save(make(1), path, attach=True)
    crash_code = (
        WRITER
        + """
import os
real_replace = os.replace
def replace(src, dst):
    real_replace(src, dst)
    if str(dst).endswith(".sse"):
        os._exit(3)  # killed between the two renames
os.replace = replace
save(cassette(2), Path(sys.argv[1]), attach=True)
"""
    )
    process = run_python(crash_code, str(path))
    process.communicate(timeout=60)
    assert process.returncode == 3
    with pytest.raises(CassetteFormatError) as caught:
        load(path)
    message = str(caught.value)
    assert str(path) in message
    assert str(frames_file_path(path)) in message
    assert "not from the same save" in message


def test_copied_frames_file_of_equal_lengths_is_refused(tmp_path: Path) -> None:
    """A .sse file from another recording with the same frame lengths is refused."""
    first = save(make(1), tmp_path / "a.json", attach=True)
    second = save(make(2), tmp_path / "b.json", attach=True)
    frames_file_path(first).write_bytes(frames_file_path(second).read_bytes())
    with pytest.raises(CassetteFormatError, match="not from the same save"):
        load(first)


def test_the_json_names_the_frames_crc(tmp_path: Path) -> None:
    """An attached cassette names its .sse file's CRC-32, which is the file's last line."""
    path = save(make(1), tmp_path / "a.json", attach=True)
    crc = json.loads(path.read_text())["sse_crc32"]
    assert frames_file_path(path).read_bytes().endswith(f": streamcassette crc32 {crc}\n".encode())


def test_embedded_cassette_has_no_crc(tmp_path: Path) -> None:
    """An embedded cassette has no .sse file and names no CRC."""
    path = save(make(1), tmp_path / "a.json", attach=False)
    assert "sse_crc32" not in json.loads(path.read_text())
    assert not frames_file_path(path).exists()


def test_old_pair_without_crc_still_loads(tmp_path: Path) -> None:
    """A pair written before the CRC existed (no key, no last line) loads as before."""
    path = save(make(1), tmp_path / "a.json", attach=True)
    doc = json.loads(path.read_text())
    del doc["sse_crc32"]
    path.write_text(json.dumps(doc))
    sidecar = frames_file_path(path)
    data = sidecar.read_bytes()
    sidecar.write_bytes(data[: data.rindex(b": streamcassette crc32 ")])
    assert writers_of(load(path)) == {b"w1"}
