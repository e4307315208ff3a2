"""Stream diff: equal recordings compare equal; each kind of drift is reported exactly once."""

from __future__ import annotations

import copy
import json
import re
import uuid
from typing import Any

import pytest
from recorded_pairs import data, frames, pair, positions, recorded_pairs, rewrite

from streamcassette import Cassette, DiffReport, RecordedFrame, diff_cassettes, load
from streamcassette._diff import KNOWN_MODES

SCENARIOS = ["agent", "agent_messages", "subgraph", "custom", "interrupt", "failing"]


@pytest.fixture(scope="session")
def pairs(langgraph_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return recorded_pairs(langgraph_url, tmp_path_factory.mktemp("pairs"))


def modes_in(cassette: Cassette) -> set[str]:
    """The stream modes a cassette's events belong to."""
    names = {f.event or "" for _, i in cassette.streams() for f in i.response.stream.events()}  # type: ignore[union-attr]
    return {name.partition("|")[0].partition("/")[0] for name in names}


def only(report: DiffReport) -> str:
    """The report's single difference, as its text lines (fails if there are more or none)."""
    assert len(report.differences) == 1, report.render_text()
    return "\n".join(report.differences[0].lines())


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_same_request_twice_compares_equal_in_every_mode(
    pairs: dict[str, Any], scenario: str
) -> None:
    """Two recordings of the same requests are equal after masking, mode by mode and together."""
    recorded, live = pair(pairs, scenario)
    modes = modes_in(recorded)
    assert modes == modes_in(live)
    for mode in sorted(modes):
        selected = "messages" if mode == "messages" else mode
        report = diff_cassettes(recorded, live, modes=[selected])
        assert report.equal, report.render_text()
        assert sum(s.compared_frames for s in report.streams) > 0
    report = diff_cassettes(recorded, live, modes=["*"])
    assert report.equal, report.render_text()


def test_every_mode_and_subgraph_events_are_covered(pairs: dict[str, Any]) -> None:
    """The recordings hold every stream mode, subgraph events and resumable SSE ids."""
    seen: set[str] = set()
    for scenario in SCENARIOS:
        seen |= modes_in(pair(pairs, scenario)[0])
    assert {"values", "updates", "messages", "custom", "debug", "events", "tasks"} <= seen
    assert {"checkpoints", "metadata", "error"} <= seen
    subgraph, _ = pair(pairs, "subgraph")
    assert any("|node_2:" in (f.parse().event or "") for f in frames(subgraph))
    agent, _ = pair(pairs, "agent")
    assert all(f.parse().id for f in frames(agent))
    legacy, _ = pair(pairs, "agent_messages")
    assert any(f.parse().event == "messages/partial" for f in frames(legacy))


# --- deliberate changes, each reported exactly --------------------------------------------


def test_changed_node_output_text_is_one_field_difference(pairs: dict[str, Any]) -> None:
    """A node's output text changed is one field difference naming the frame and the node."""
    recorded, live = pair(pairs, "agent")
    last = positions(live, "updates")[-1]

    def reword(update: Any) -> Any:
        update["agent"]["messages"][0]["content"] = "It is raining in Los Angeles."
        return update

    rewrite(live, last, reword)
    assert only(diff_cassettes(recorded, live)) == (
        f"frame {positions(recorded, 'updates')[-1]}, node 'agent': messages[0].content: "
        "'The weather in Los Angeles is sunny and 72 degrees.' -> 'It is raining in Los Angeles.'"
    )


def test_tool_called_with_other_arguments(pairs: dict[str, Any]) -> None:
    """Other tool-call arguments read as in LangGraph: frame, node, path, old -> new."""
    recorded, live = pair(pairs, "agent")
    first = positions(live, "updates")[0]

    def ask_otherwise(update: Any) -> Any:
        update["agent"]["messages"][0]["tool_calls"][0]["args"]["query"] = "weather in la"
        return update

    rewrite(live, first, ask_otherwise)
    assert only(diff_cassettes(recorded, live)) == (
        f"frame {positions(recorded, 'updates')[0]}, node 'agent': "
        "messages[0].tool_calls[0].args.query: 'weather in los angeles' -> 'weather in la'"
    )


def test_node_that_did_not_run_live_is_reported_as_such(pairs: dict[str, Any]) -> None:
    """A node missing live is one 'ran in the recording but not live', not a cascade."""
    recorded, live = pair(pairs, "agent")
    action = positions(live, "updates")[1]
    del frames(live)[action]
    assert only(diff_cassettes(recorded, live)) == (
        f"node 'action' ran in the recording but not live (recorded frame {action})"
    )


def test_extra_node_with_new_ids_does_not_shift_every_later_frame(pairs: dict[str, Any]) -> None:
    """An extra node early on, with fresh ids, is one difference although it renumbers the rest."""
    recorded, live = pair(pairs, "agent")
    first = positions(live, "updates")[0]
    extra = {
        "guard": {"messages": [{"type": "ai", "content": "checking", "id": str(uuid.uuid4())}]}
    }
    frame = frames(live)[first]
    raw = frame.raw.replace(frame.parse().data.encode(), json.dumps(extra).encode())  # type: ignore[union-attr]
    frames(live).insert(first, RecordedFrame(frame.at, raw))
    assert only(diff_cassettes(recorded, live)) == (
        f"node 'guard' ran live but not in the recording (live frame {first})"
    )
    report = diff_cassettes(recorded, live, modes=["*"])
    assert {d.kind for d in report.differences} == {"frame_added"}, report.render_text()


def test_broken_tool_call_link_is_reported_at_the_tool_message(pairs: dict[str, Any]) -> None:
    """A tool message whose tool_call_id no longer names the AI's tool call is a broken link."""
    recorded, live = pair(pairs, "agent")
    action = positions(live, "updates")[1]

    def unlink(update: Any) -> Any:
        update["action"]["messages"][0]["tool_call_id"] = "call_0123456789abcdef01234567"
        return update

    rewrite(live, action, unlink)
    # among the compared frames (updates): the others are not masked, so not looked at
    first_seen = next(
        i for i in positions(recorded, "updates") if b"call_" in frames(recorded)[i].raw
    )
    assert only(diff_cassettes(recorded, live)) == (
        f"frame {positions(recorded, 'updates')[1]}, node 'action': messages[0].tool_call_id: "
        "'<tool_call:1>' -> '<tool_call:live-2>' (link broken: the recording reuses the value "
        f"first seen in frame {first_seen}, live has a value new here)"
    )


def test_reordered_frames_are_reported_as_moved(pairs: dict[str, Any]) -> None:
    """Two frames swapped are reported as a move, not as two changed frames."""
    recorded, live = pair(pairs, "agent")
    _, action, answer = positions(live, "updates")
    stream = frames(live)
    stream[action], stream[answer] = stream[answer], stream[action]
    report = diff_cassettes(recorded, live)
    text = only(report)
    assert report.differences[0].kind == "frame_moved"
    assert re.fullmatch(
        r"node '(agent|action)' moved: recorded frame \d+ is live frame \d+ \(frames reordered\)",
        text,
    )


def test_root_frames_swapped_around_a_subgraphs_are_one_move(pairs: dict[str, Any]) -> None:
    """Swapping the root's two nodes, which have the subgraph's frames between them, is one
    move named by node: the root namespace is aligned apart from the subgraph's, where the
    two are neighbours."""
    recorded, live = pair(pairs, "subgraph")
    first, second = positions(live, "updates")[:2]
    stream = frames(live)
    assert any((f.parse().event or "").startswith("updates|") for f in stream[first:second])
    stream[first], stream[second] = stream[second], stream[first]
    report = diff_cassettes(recorded, live)
    assert [d.lines() for d in report.differences] == [
        [f"node 'node_2' moved: recorded frame {second} is live frame {first} (frames reordered)"],
    ]


def test_changed_subgraph_update_names_the_subgraph(pairs: dict[str, Any]) -> None:
    """A change inside a subgraph's update says which subgraph it ran in."""
    recorded, live = pair(pairs, "subgraph")
    inner = next(
        p
        for p, frame in enumerate(frames(live))
        if (frame.parse().event or "").startswith("updates|node_2:")
    )

    assert data(live, inner) == {"subgraph_node_1": {"bar": "bar"}}
    rewrite(live, inner, lambda update: {"subgraph_node_1": {"bar": "baz"}})
    assert only(diff_cassettes(recorded, live)) == (
        f"frame {inner}, node 'subgraph_node_1' in subgraph 'node_2': bar: 'bar' -> 'baz'"
    )


def test_error_events_are_compared_whatever_the_modes(pairs: dict[str, Any]) -> None:
    """A run's error is compared even when only ``updates`` are."""
    recorded, live = pair(pairs, "failing")
    error = positions(live, "error")[0]
    rewrite(live, error, lambda value: {**value, "message": "kaboom"})
    text = only(diff_cassettes(recorded, live, modes=["updates"]))
    assert text == f"frame {error}, error: message: 'boom' -> 'kaboom'"


def test_missing_stream_is_reported_with_its_request(pairs: dict[str, Any]) -> None:
    """A stream present in one cassette only is named with its masked request."""
    recorded, live = pair(pairs, "interrupt")
    resumed = list(live.streams())[1][0]
    del live.interactions[resumed:]
    assert only(diff_cassettes(recorded, live)) == (
        "stream 1 (POST /threads/<uuid:1>/runs/stream) is in the recording but not live"
    )


# --- the structure policy -------------------------------------------------------------------


def test_structure_ignores_wording_but_not_tool_calls(pairs: dict[str, Any]) -> None:
    """Under ``structure`` other wording is equal; other tool arguments still differ."""
    recorded, live = pair(pairs, "agent")
    updates = positions(live, "updates")

    def reword(update: Any) -> Any:
        update["agent"]["messages"][0]["content"] = "Sunny, 72."
        return update

    rewrite(live, updates[-1], reword)
    assert not diff_cassettes(recorded, live).equal
    assert diff_cassettes(recorded, live, policy="structure").equal

    def ask_otherwise(update: Any) -> Any:
        update["agent"]["messages"][0]["tool_calls"][0]["args"]["query"] = "weather in la"
        return update

    rewrite(live, updates[0], ask_otherwise)
    assert only(diff_cassettes(recorded, live, policy="structure")) == (
        f"frame {positions(recorded, 'updates')[0]}, node 'agent': "
        "messages[0].tool_calls[0].args.query: 'weather in los angeles' -> 'weather in la'"
    )


def test_structure_collapses_token_streams_of_other_lengths(pairs: dict[str, Any]) -> None:
    """Under ``structure`` a message streamed in fewer tokens is equal; under exact it is not."""
    recorded, live = pair(pairs, "agent")
    tokens = [
        p
        for p in positions(live, "messages")
        if data(live, p)[0]["type"] == "AIMessageChunk" and data(live, p)[0]["content"]
    ]
    del frames(live)[tokens[1]]
    assert not diff_cassettes(recorded, live, modes=["messages-tuple"]).equal
    assert diff_cassettes(recorded, live, modes=["messages-tuple"], policy="structure").equal


# --- the report -----------------------------------------------------------------------------


def test_report_text_colour_and_json(pairs: dict[str, Any]) -> None:
    """Text has colour only when asked; the JSON report has the same facts."""
    recorded, live = pair(pairs, "agent")
    del frames(live)[positions(live, "updates")[1]]
    report = diff_cassettes(recorded, live)
    plain, coloured = report.render_text(), report.render_text(color=True)
    assert "\x1b[" not in plain
    assert "\x1b[" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain
    out = report.to_json()
    json.dumps(out)
    assert out["equal"] is False
    (stream,) = [s for s in out["streams"] if not s["equal"]]
    assert stream["differences"][0]["kind"] == "frame_removed"
    assert stream["differences"][0]["label"] == "node 'action'"


def test_equal_report_says_what_was_compared(pairs: dict[str, Any]) -> None:
    """An equal report names the modes, the policy and how many frames were compared."""
    recorded, live = pair(pairs, "agent")
    report = diff_cassettes(recorded, live, modes=["updates", "values"])
    assert report.equal
    assert report.summary() == (
        "equal after masking: 1 stream, 7 frames compared (modes: updates, values; policy: exact)"
    )


@pytest.mark.parametrize(
    ("modes", "policy", "message"),
    [
        (["update"], "exact", "unknown stream mode 'update'"),
        ([], "exact", "modes is empty"),
        (["updates"], "fuzzy", "policy must be one of exact, structure"),
    ],
)
def test_bad_modes_and_policies_are_refused(modes: list[str], policy: Any, message: str) -> None:
    """A typo in a mode or policy is an error, not an empty comparison."""
    with pytest.raises(ValueError, match=re.escape(message)):
        diff_cassettes(Cassette(), Cassette(), modes=modes, policy=policy)
    assert "updates" in KNOWN_MODES


def test_diff_does_not_change_the_cassettes(pairs: dict[str, Any]) -> None:
    """Diffing reads the cassettes only: masking never touches the recorded frames."""
    recorded, live = pair(pairs, "agent")
    before = copy.deepcopy(recorded.interactions)
    diff_cassettes(recorded, live, modes=["*"])
    assert recorded.interactions == before
    assert load(pairs["agent"][0]).interactions == before


def test_changed_frame_keeps_its_links_to_equal_frames_out_of_the_report(
    pairs: dict[str, Any],
) -> None:
    """A changed tool result shows its content only: its tool_call_id, linked by the AI frame
    that is unchanged, is not reported (though the new text brings a tool-call id of its own)."""
    recorded, live = pair(pairs, "agent")
    action = positions(live, "updates")[1]

    def other_weather(update: Any) -> Any:
        update["action"]["messages"][0]["content"] = "Rain. See call_abcdefabcdef0123456789ab."
        return update

    rewrite(live, action, other_weather)
    report = diff_cassettes(recorded, live)
    assert only(report) == (
        f"frame {positions(recorded, 'updates')[1]}, node 'action': messages[0].content: "
        "'Los Angeles: sunny, 72 degrees Fahrenheit, light breeze from the west.' -> "
        "'Rain. See <tool_call:live-2>.'"
    )


def test_a_report_is_not_a_boolean(pairs: dict[str, Any]) -> None:
    """``if report:`` is an error: equality is ``report.equal``, never the report's truth."""
    report = diff_cassettes(*pair(pairs, "custom"))
    assert report.equal
    with pytest.raises(TypeError, match=r"use report\.equal"):
        bool(report)
