"""Masking, diff and learning in v3 terms: two recordings of the same thread session are equal
after masking (seq, event ids, stamps, ids), a changed input is reported as state drift, and
learning from two recordings files only their noise."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from recorded_pairs import frames, rewrite
from thread_sessions import Program, run_async

from streamcassette import (
    Cassette,
    MaskRules,
    RecordedFrame,
    diff_cassettes,
    load,
    mask_cassette,
    use_cassette,
)
from streamcassette._learn import learn_rules
from streamcassette.cli import main
from streamcassette.devserver import LangGraphDevServer

MODES = ["values", "messages", "lifecycle", "input"]


def _ask(content: str) -> Program:
    return Program("agent", "tool_agent", {"messages": [{"role": "user", "content": content}]})


def _record(
    server: LangGraphDevServer, path: Path, program: Program, transport: str = "sse"
) -> Path:
    with use_cassette(path, mode="record"):
        asyncio.run(run_async(server.url, program, transport, None))
    return path


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_two_recordings_of_a_thread_session_are_equal_after_masking(
    langgraph_server: LangGraphDevServer, tmp_path: Path, transport: str
) -> None:
    """Thread ids, run ids, seq, event ids, timestamps and tool-call ids mask away, over SSE
    and over WebSocket (whose messages are compared as the SSE frames they stand for)."""
    first = _record(langgraph_server, tmp_path / "a.json", _ask("weather?"), transport)
    second = _record(langgraph_server, tmp_path / "b.json", _ask("weather?"), transport)
    report = diff_cassettes(load(first), load(second), modes=MODES)
    assert report.equal, report.render_text()
    assert sum(stream.compared_frames for stream in report.streams) > 20
    masked = mask_cassette(load(first), events=lambda name: name == "lifecycle")
    text = "\n".join(stream.text() for stream in masked)
    assert '"seq":"<seq:1>"' in text
    assert '"timestamp":"<epoch_ms>"' in text


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_a_changed_input_is_reported_in_langgraph_words(
    langgraph_server: LangGraphDevServer, tmp_path: Path, transport: str
) -> None:
    """A different question shows as state values drift at the message's content."""
    first = _record(langgraph_server, tmp_path / "a.json", _ask("weather?"), transport)
    second = _record(langgraph_server, tmp_path / "b.json", _ask("weather in paris?"), transport)
    report = diff_cassettes(load(first), load(second), modes=MODES)
    assert not report.equal
    text = report.render_text()
    assert (
        "state values: params.data.messages[0].content: 'weather?' -> 'weather in paris?'" in text
    )


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_learn_files_only_the_noise_of_two_thread_sessions(
    langgraph_server: LangGraphDevServer, tmp_path: Path, transport: str
) -> None:
    """With the built-in rules nothing is left to learn; without the v3 ones, learning files
    the events' ids and stamps (and nothing a link between them implied), and the learned
    rules still show a changed question."""
    first = load(_record(langgraph_server, tmp_path / "a.json", _ask("weather?"), transport))
    second = load(_record(langgraph_server, tmp_path / "b.json", _ask("weather?"), transport))
    learning = learn_rules(first, second)
    assert learning.learned == []
    assert learning.equal

    bare = MaskRules.default().without("seq", "event_id", "epoch_ms")
    assert not diff_cassettes(first, second, modes=["*"], rules=bare).equal
    learning = learn_rules(first, second, bare)
    assert learning.equal, [d.message for d in learning.remaining]
    learned = {learned.rule.path for learned in learning.learned}
    # seq only when the two runs numbered their events differently.
    assert {"event_id", "params.timestamp"} <= learned <= {"event_id", "params.timestamp", "seq"}

    changed = load(
        _record(langgraph_server, tmp_path / "c.json", _ask("weather in paris?"), transport)
    )
    report = diff_cassettes(first, changed, modes=MODES, rules=learning.rules)
    assert (
        "state values: params.data.messages[0].content: 'weather?' -> 'weather in paris?'"
        in report.render_text()
    )


def _stamp(cassette: Cassette, per_stamp: int) -> None:
    """Give the events of each stream made-up stamps, ``per_stamp`` events per millisecond."""
    for stream in range(len(list(cassette.streams()))):
        for position in range(len(frames(cassette, stream))):

            def change(event: Any, position: int = position) -> Any:
                event["params"]["timestamp"] = 1795968742000 + position // per_stamp
                return event

            rewrite(cassette, position, change, stream)


def test_learning_a_value_first_does_not_file_the_links_it_broke(
    langgraph_server: LangGraphDevServer, tmp_path: Path
) -> None:
    """Events that share a stamp in one recording and not in the other break the links of the
    ids new in those events too; learning files the stamps, and no id path, as noise."""
    first = load(_record(langgraph_server, tmp_path / "a.json", _ask("weather?")))
    second = load(_record(langgraph_server, tmp_path / "b.json", _ask("weather?")))
    _stamp(first, per_stamp=2)
    _stamp(second, per_stamp=1)
    learning = learn_rules(first, second, MaskRules.default().without("epoch_ms"))
    assert [learned.rule.path for learned in learning.learned] == ["params.timestamp"]
    assert learning.equal


def test_cli_diff_compares_the_v3_channels_by_default(
    langgraph_server: LangGraphDevServer, tmp_path: Path
) -> None:
    """Without ``--mode``, ``diff`` compares a v3 session's state, tool runs, lifecycle and
    interrupts (it streams no ``updates``, the runs default) and names a changed question."""
    first = _record(langgraph_server, tmp_path / "a.json", _ask("weather?"))
    second = _record(langgraph_server, tmp_path / "b.json", _ask("weather in paris?"))
    result = CliRunner().invoke(main, ["diff", str(first), str(second)])
    assert result.exit_code == 1, result.output
    assert "(modes: values, updates, tools, custom, lifecycle, input; policy: exact)" in (
        result.output
    )
    assert "params.data.messages[0].content: 'weather?' -> 'weather in paris?'" in result.output


def _values_subscription(cassette: Cassette) -> list[RecordedFrame]:
    """The frames of the session's ``thread.values`` subscription (lifecycle and values)."""
    for _, interaction in cassette.streams():
        body = interaction.request.body.content if interaction.request.body else b""
        if b'"channels":["lifecycle","values"]' in body:
            assert interaction.response is not None
            assert interaction.response.stream is not None
            return interaction.response.stream.frames
    raise AssertionError("no values subscription recorded")


def test_a_subscription_closed_before_the_last_lifecycle_event_is_not_drift(
    langgraph_server: LangGraphDevServer, tmp_path: Path
) -> None:
    """A session closes its subscriptions as it ends; the run's ``completed`` event reaches
    some of them a moment before or after. A recording whose values subscription closed
    before it arrived equals one that read it (diff and learn), the frame counted as not
    compared; an event missing before the last one read is drift."""
    # A recording whose values subscription read the completed event: live, the session
    # may close it first (the race this test is about), so a few sessions are recorded.
    for attempt in range(5):
        path = _record(langgraph_server, tmp_path / f"a{attempt}.json", _ask("weather?"))
        if b'"completed"' in _values_subscription(load(path))[-1].raw:
            break
    else:
        raise AssertionError("no session's values subscription read the completed event")
    whole, early, gap = load(path), load(path), load(path)
    frames_read = _values_subscription(early)
    del frames_read[-1]  # closed a moment before the run's completed event reached it
    report = diff_cassettes(early, whole, modes=MODES)
    assert report.equal, report.render_text()
    assert sum(stream.unheard_frames for stream in report.streams) == 1
    learning = learn_rules(early, whole)
    assert learning.learned == []
    assert learning.equal
    del _values_subscription(gap)[-2]  # the last values event, before the completed one
    report = diff_cassettes(gap, whole, modes=MODES)
    assert not report.equal
    assert "live but not in the recording" in report.render_text()
