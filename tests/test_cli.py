"""The core CLI commands (record, play, show) and the bundled cassettes they play."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from streamcassette import AttachedFrames, frames_file_path, load, save
from streamcassette.cli import main
from streamcassette.cli._common import bundled_cassette
from streamcassette.cli.record import default_output

BUNDLED = Path(__file__).resolve().parent.parent / "cassettes"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_bundled_cassettes_hold_the_seed_examples() -> None:
    """The shipped cassettes are the joke, subgraph and weather-agent runs of the seed docs."""
    joke = load(BUNDLED / "joke.json")
    events = [
        (f.event, json.loads(f.data or "null"))
        for _, i in joke.streams()
        for f in i.response.stream.events()
    ]  # type: ignore[union-attr]
    assert ("updates", {"refine_topic": {"topic": "ice cream and cats"}}) in events
    assert ("updates", {"generate_joke": {"joke": "This is a joke about ice cream and cats"}}) in (
        events
    )
    assert ("values", {"topic": "ice cream"}) in events

    subgraph = load(BUNDLED / "subgraph.json")
    names = [f.event for _, i in subgraph.streams() for f in i.response.stream.events()]  # type: ignore[union-attr]
    assert sum(1 for name in names if (name or "").startswith("updates|node_2:")) == 2

    agent = load(BUNDLED / "weather_agent.json")
    frames = [f for _, i in agent.streams() for f in i.response.stream.events()]  # type: ignore[union-attr]
    tokens = [json.loads(f.data or "")[0] for f in frames if f.event == "messages"]
    text = "".join(t["content"] for t in tokens if t["type"] == "AIMessageChunk")
    assert text == "The weather in Los Angeles is sunny and 72 degrees."
    assert any(t.get("tool_call_chunks") for t in tokens)
    assert bundled_cassette() == BUNDLED / "weather_agent.json"


def test_play_without_argument_plays_the_bundled_agent_like_the_docs() -> None:
    """`play` with no cassette replays the weather agent, printing events as the docs do."""
    code, out, err = run("play", "--instant")
    assert code == 0
    assert out.startswith("Receiving new event of type: metadata...\n{'run_id': ")
    assert "Receiving new event of type: updates...\n{'agent': {'messages': [" in out
    assert '[tool call search] {"query": "weather in los angeles"}' in out
    assert "The weather in Los Angeles is sunny and 72 degrees.\n" in out
    assert "played 17 events from" in err


# The demo (scripts/demo.sh) installs streamcassette's dependencies except these: `play`
# must run without them.
NOT_INSTALLED_BY_THE_DEMO = ("pytest", "_pytest", "syrupy", "deepdiff", "httpx_sse")

BLOCKING_PLAY = """
import runpy, sys
class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError("the demo does not install " + name)
sys.meta_path.insert(0, Blocker())
sys.argv = ["streamcassette", "play", "--instant"]
runpy.run_module("streamcassette.cli", run_name="__main__")
"""


def test_play_needs_none_of_the_dependencies_the_demo_leaves_out() -> None:
    """`play` runs with pytest, syrupy and DeepDiff unimportable, as in the demo's venv."""
    code = f"BLOCKED = {set(NOT_INSTALLED_BY_THE_DEMO)!r}\n{BLOCKING_PLAY}"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Receiving new event of type: metadata...")
    assert "The weather in Los Angeles is sunny and 72 degrees." in result.stdout


def test_the_demo_leaves_out_exactly_what_play_does_not_need() -> None:
    """scripts/demo.sh skips the dependencies the test above blocks, and no others."""
    script = (BUNDLED.parent / "scripts" / "demo.sh").read_text()
    skipped = re.search(r"NOT_FOR_PLAY = \{([^}]*)\}", script)
    assert skipped is not None
    names = {name.strip().strip('"').replace("-", "_") for name in skipped.group(1).split(",")}
    assert names == set(NOT_INSTALLED_BY_THE_DEMO) - {"_pytest"}


def test_play_raw_prints_every_token_event() -> None:
    """`play --raw` prints token events in full instead of inline."""
    code, out, _ = run("play", "--instant", "--raw", str(BUNDLED / "weather_agent.json"))
    assert code == 0
    assert out.count("Receiving new event of type: messages...") == 13


def test_play_subgraph_shows_namespaced_events() -> None:
    """Subgraph events keep their namespace in the printed event type."""
    code, out, _ = run("play", "--instant", str(BUNDLED / "subgraph.json"))
    assert code == 0
    assert "Receiving new event of type: updates|node_2:" in out
    assert "{'subgraph_node_2': {'foo': 'hi! foobar'}}" in out


def test_show_lists_interactions_and_frame_counts() -> None:
    """`show` lists each interaction and, for streams, frames per event type."""
    code, out, _ = run("show", str(BUNDLED / "weather_agent.json"))
    assert code == 0
    assert "#0 POST /threads -> 200" in out
    assert "stream: 17 frames" in out
    assert "messages: 13" in out
    assert "updates: 3" in out


def test_show_says_where_attached_frames_are(tmp_path: Path) -> None:
    """`show` names the .sse file of a stream whose frames are attached; embedded ones none."""
    agent = load(BUNDLED / "weather_agent.json")
    attached = save(agent, tmp_path / "agent.json", attach=True)
    embedded = save(agent, tmp_path / "embedded.json", attach=False)
    stream = agent.interactions[1].response.stream  # type: ignore[union-attr]
    assert stream is not None
    size = stream.nbytes

    code, out, _ = run("show", str(attached))
    assert code == 0
    assert f"stream: 17 frames, {size} bytes, attached in agent.sse, " in out
    assert "messages: 13" in out
    code, out, _ = run("show", str(embedded))
    assert code == 0
    assert f"stream: 17 frames, {size} bytes, {stream.duration:.3f}s" in out
    assert "attached in" not in out


def test_bad_cassette_is_a_clean_cli_error(tmp_path: Path) -> None:
    """A corrupt cassette exits non-zero with the file and the problem, not a traceback."""
    path = tmp_path / "bad.json"
    path.write_text('{"format": "streamcassette", "version": 1, "interactions": [}')
    result = CliRunner().invoke(main, ["show", str(path)])
    assert result.exit_code == 2  # as for every command given an unreadable file
    assert f"Error: {path}:1:" in result.stderr
    assert "not valid JSON" in result.stderr
    result = CliRunner().invoke(main, ["play", str(path)])
    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr


def test_play_rejects_a_non_positive_speed() -> None:
    """`--speed 0` is refused with the option named."""
    result = CliRunner().invoke(main, ["play", "--speed", "0"])
    assert result.exit_code == 2
    assert "--speed" in result.stderr


def test_record_default_output_name() -> None:
    """Without -o, a cassette is named after the assistant and its stream modes."""
    assert default_output("agent", ("updates", "messages-tuple")) == Path(
        "cassettes/agent-updates+messages-tuple.json"
    )


@pytest.mark.live
def test_record_prints_events_and_writes_a_playable_cassette(
    langgraph_url: str, tmp_path: Path
) -> None:
    """`record` prints events as they arrive and writes a cassette that `play` replays."""
    output = tmp_path / "joke.json"
    code, out, err = run(
        "record",
        langgraph_url,
        "joke",
        "--input",
        '{"topic": "pizza"}',
        "--mode",
        "updates",
        "--mode",
        "values",
        "--resumable",
        "-o",
        str(output),
    )
    assert code == 0, err
    assert "{'refine_topic': {'topic': 'pizza and cats'}}" in out
    assert f"recorded 6 events into {output}" in err
    cassette = load(output)
    stream = next(cassette.streams())[1].response.stream  # type: ignore[union-attr]
    assert all(frame.id for frame in stream.events())  # --resumable gives ids
    code, replayed, _ = run("play", "--instant", str(output))
    assert code == 0
    assert replayed == out


@pytest.mark.live
def test_record_stateless_with_subgraphs(langgraph_url: str, tmp_path: Path) -> None:
    """`record --stateless --subgraphs` uses POST /runs/stream and keeps namespaced events."""
    output = tmp_path / "sub.json"
    code, out, err = run(
        "record",
        langgraph_url,
        "subgraph",
        "--input",
        '{"foo": "foo"}',
        "--stateless",
        "--subgraphs",
        "-o",
        str(output),
        "--quiet",
    )
    assert code == 0, err
    assert out == ""
    cassette = load(output)
    assert cassette.interactions[0].request.describe() == "POST /runs/stream"
    names = [f.event for _, i in cassette.streams() for f in i.response.stream.events()]  # type: ignore[union-attr]
    assert any((name or "").startswith("updates|node_2:") for name in names)


@pytest.mark.live
def test_record_attach_and_embed_choose_where_the_frames_go(
    langgraph_url: str, tmp_path: Path
) -> None:
    """`--attach` writes the frames into a .sse file beside the cassette, `--embed` into the
    cassette (removing the .sse the last save attached); by default a small run embeds."""
    output = tmp_path / "joke.json"
    sidecar = frames_file_path(output)
    record = ("record", langgraph_url, "joke", "--input", '{"topic": "pizza"}', "-o", str(output))

    code, out, err = run(*record, "--attach")
    assert code == 0, err
    assert f"into {output} (frames attached in joke.sse)" in err
    assert sidecar.is_file()
    stream = next(load(output).streams())[1].response.stream  # type: ignore[union-attr]
    assert isinstance(stream.frames, AttachedFrames)
    assert sidecar.read_bytes().startswith(stream.raw)  # then the CRC-32 line
    code, replayed, _ = run("play", "--instant", str(output))
    assert code == 0
    assert replayed == out

    code, _, err = run(*record, "--embed", "--quiet", "--force")
    assert code == 0, err
    assert "attached" not in err
    assert not sidecar.exists()
    stream = next(load(output).streams())[1].response.stream  # type: ignore[union-attr]
    assert isinstance(stream.frames, list)

    code, _, err = run(*record, "--quiet", "--force")
    assert code == 0, err
    assert not sidecar.exists()


def test_record_rejects_bad_input_json() -> None:
    """A malformed --input is rejected before any request is made."""
    result = CliRunner().invoke(main, ["record", "http://127.0.0.1:9", "joke", "--input", "{x"])
    assert result.exit_code == 2
    assert "--input must be JSON" in result.stderr
