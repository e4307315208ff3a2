"""The diff aligns per channel and namespace: events of a subgraph align with the same
subgraph's events in the other recording, in v3 thread streams and in runs streams recorded
with ``stream_subgraphs=True``, and drift is reported with the subgraph's name."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langgraph_sdk import get_sync_client
from recorded_pairs import frames
from thread_sessions import Program, run_async

from streamcassette import Cassette, DiffReport, diff_cassettes, load, use_cassette
from streamcassette.devserver import LangGraphDevServer

V3_MODES = ["values", "lifecycle"]


def _extra(extra_step: bool) -> dict[str, dict[str, bool]]:
    """The run config that makes the ``child`` subgraph of ``nested`` run one more node."""
    return {"configurable": {"extra_step": extra_step}}


def _v3(server: LangGraphDevServer, path: Path, extra_step: bool, transport: str) -> Cassette:
    program = Program("nested", "nested", {"foo": "foo"}, config=_extra(extra_step))
    with use_cassette(path, mode="record"):
        asyncio.run(run_async(server.url, program, transport, None))
    return load(path)


def _runs(server: LangGraphDevServer, path: Path, extra_step: bool) -> Cassette:
    with get_sync_client(url=server.url) as client, use_cassette(path, mode="record"):
        parts = list(
            client.runs.stream(
                None,
                "nested",
                input={"foo": "foo"},
                config=_extra(extra_step),
                stream_mode=["updates", "values"],
                stream_subgraphs=True,
            )
        )
        assert any(part.event.startswith("updates|child:") for part in parts)
    return load(path)


def _frame_lines(report: DiffReport) -> list[str]:
    """The report's frame differences (not request or status ones), as text."""
    return [
        line
        for difference in report.differences
        if difference.kind.startswith("frame_")
        for line in difference.lines()
    ]


def test_an_extra_subgraph_event_in_a_v3_session_is_drift_in_that_subgraph_only(
    langgraph_server: LangGraphDevServer, tmp_path: Path
) -> None:
    """A node that runs in the ``child`` subgraph on one side only is reported in the words
    of that subgraph; the root's events, before and after it, align and are equal."""
    recorded = _v3(langgraph_server, tmp_path / "a.json", False, "sse")
    again = _v3(langgraph_server, tmp_path / "b.json", False, "sse")
    live = _v3(langgraph_server, tmp_path / "c.json", True, "sse")
    same = diff_cassettes(recorded, again, modes=V3_MODES)
    assert same.equal, same.render_text()
    report = diff_cassettes(recorded, live, modes=V3_MODES)
    main = report.streams[0].differences
    added = next(d for d in main if d.kind == "frame_added")
    changed = next(d for d in main if d.kind == "frame_changed")
    # the child's extra values event is the one added; its last values event changed in
    # `bar` only; the root's values frames (one event later live) are not reported
    assert [line for d in main for line in d.lines()] == [
        f"frame {changed.recorded_frame} (live frame {changed.live_frame}), state values in "
        "subgraph 'child': params.data.bar: 'bar' -> 'bar again'",
        "state values in subgraph 'child' was streamed live but not in the recording "
        f"(live frame {added.live_frame})",
    ], report.render_text()
    assert added.live_frame is not None
    assert changed.live_frame == added.live_frame + 1


@pytest.mark.parametrize("transport", ["sse", "websocket"])
def test_v3_events_of_two_namespaces_interleaved_otherwise_are_no_drift(
    langgraph_server: LangGraphDevServer, tmp_path: Path, transport: str
) -> None:
    """Two recordings of the same v3 session (over SSE and over WebSocket) are equal, and
    stay equal when a child event comes before a root event in one of them: each namespace
    is aligned on its own."""
    recorded = _v3(langgraph_server, tmp_path / "a.json", False, transport)
    live = _v3(langgraph_server, tmp_path / "b.json", False, transport)
    report = diff_cassettes(recorded, live, modes=V3_MODES)
    assert report.equal, report.render_text()
    if transport == "websocket":
        return  # its messages are not SSE frames to move
    stream = frames(live)
    texts = [frame.parse().data or "" for frame in stream]
    child = next(i for i, text in enumerate(texts) if '"namespace":["child:' in text)
    assert '"namespace":[]' in texts[child - 1]  # a root event just before it
    stream.insert(child - 1, stream.pop(child))
    report = diff_cassettes(recorded, live, modes=V3_MODES)
    assert report.equal, report.render_text()


def test_an_extra_subgraph_node_in_a_runs_stream_with_subgraphs_is_one_difference(
    langgraph_server: LangGraphDevServer, tmp_path: Path
) -> None:
    """``stream_subgraphs=True``: the extra node is one difference named after its subgraph;
    the root's updates align though they come one frame later."""
    recorded = _runs(langgraph_server, tmp_path / "a.json", False)
    live = _runs(langgraph_server, tmp_path / "b.json", True)
    report = diff_cassettes(recorded, live, modes=["updates"])
    assert _frame_lines(report) == [
        f"node 'child_extra' in subgraph 'child' ran live but not in the recording "
        f"(live frame {report.differences[-1].live_frame})"
    ], report.render_text()
    kinds = [d.kind for d in report.differences]
    assert kinds == ["request", "frame_added"]  # the request: the run's config differs
    report = diff_cassettes(recorded, live, modes=["updates", "values"])
    found = [(d.kind, d.label, d.changes) for d in report.differences[1:]]
    assert [(kind, label) for kind, label, _ in found] == [
        ("frame_added", "node 'child_extra' in subgraph 'child'"),
        ("frame_changed", "state values in subgraph 'child'"),
        ("frame_added", "state values in subgraph 'child'"),
    ], report.render_text()
    assert [change.describe() for change in found[1][2]] == ["bar: 'bar' -> 'bar again'"]


def test_runs_events_of_two_namespaces_interleaved_otherwise_are_no_drift(
    langgraph_server: LangGraphDevServer, tmp_path: Path
) -> None:
    """In a runs stream with subgraphs, a subgraph's update that comes before a root update
    in one recording and after it in the other is no drift (it was a move across
    namespaces before they were aligned apart)."""
    recorded = _runs(langgraph_server, tmp_path / "a.json", False)
    live = _runs(langgraph_server, tmp_path / "b.json", False)
    names = [frame.parse().event or "" for frame in frames(live)]
    root = names.index("updates")  # node_1's update
    child = next(i for i, name in enumerate(names) if name.startswith("updates|child:"))
    assert root < child
    stream = frames(live)
    stream.insert(root, stream.pop(child))  # the child's first update now comes first
    report = diff_cassettes(recorded, live, modes=["updates"])
    assert report.equal, report.render_text()
