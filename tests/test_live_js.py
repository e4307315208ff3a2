"""The JavaScript LangGraph server (``@langchain/langgraph-cli dev``), as LangGraph.js users run
it: its streams record and replay like the Python server's, and diff, learn, serve and play
know its ways (integer SSE ids on every frame, ``"ai"`` chunks, the client's user-agent in
``configurable``), so nothing but behaviour shows as drift.

The server is the session's one ``langgraph_js_server`` (graphs in ``tests/js_graphs``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from click.testing import CliRunner
from test_live_record_replay import (
    JOKE,
    WEATHER,
    Flow,
    Recording,
    Scenario,
    check_async_replay,
    check_sync_replay,
    join_resumable_async,
    join_resumable_sync,
    record_a_finished_resumable_run,
    record_flows,
    scenario_flows,
)

from streamcassette import (
    Cassette,
    CassetteSession,
    MaskRules,
    diff_cassettes,
    learn_rules,
    load,
    mask_cassette,
)
from streamcassette.cli import main
from streamcassette.serve import BackgroundServer, replay_app
from streamcassette.serve._resume import recording_server

SCENARIOS = [
    Scenario("js-joke-updates", "joke", JOKE, {"stream_mode": "updates"}),
    Scenario(
        "js-joke-values-stateless",
        "joke",
        JOKE,
        {"stream_mode": "values"},
        thread=False,
        record_sync=True,
    ),
    Scenario("js-agent-messages-tuple", "agent", WEATHER, {"stream_mode": "messages-tuple"}),
    Scenario(
        "js-subgraph-updates-with-subgraphs",
        "subgraph",
        {"foo": "foo"},
        {"stream_mode": "updates", "stream_subgraphs": True},
        record_sync=True,
    ),
]
FLOWS = {
    flow.name: flow
    for flow in [
        *scenario_flows(SCENARIOS),
        Flow("js-resumable-join", join_resumable_async, join_resumable_sync),
    ]
}
ANSWER = "The weather in Los Angeles is sunny and 72 degrees."
AGENT_MODES = ["updates", "messages-tuple"]


@pytest.fixture(scope="module")
def recordings(
    langgraph_js_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Recording]:
    """Every JS flow recorded live once."""
    return record_flows(langgraph_js_url, list(FLOWS.values()), tmp_path_factory.mktemp("js"))


@pytest.mark.parametrize("name", list(FLOWS))
@pytest.mark.anyio
async def test_async_replay_of_the_js_server(recordings: dict[str, Recording], name: str) -> None:
    """The async SDK replays a JS-server recording offline: the live parts, the same bytes."""
    await check_async_replay(FLOWS[name], recordings[name], recordings[name].path)


@pytest.mark.parametrize("name", list(FLOWS))
def test_sync_replay_of_the_js_server(recordings: dict[str, Recording], name: str) -> None:
    """The sync SDK replays a JS-server recording offline: the live parts, the same bytes."""
    check_sync_replay(FLOWS[name], recordings[name], recordings[name].path)


def test_js_recordings_have_the_js_servers_shapes(recordings: dict[str, Recording]) -> None:
    """The recordings hold what the JS server sends: integer ids, "ai" chunks, run-<uuid> ids,
    and its provenance names the JS server."""
    agent = load(recordings["js-agent-messages-tuple"].path)
    assert recording_server(agent.provenance, []) == "js"
    _, interaction = next(agent.streams())
    assert interaction.response is not None
    assert interaction.response.stream is not None
    events = list(interaction.response.stream.events())
    assert [frame.id for frame in events] == [str(n) for n in range(len(events))]
    chunks = [json.loads(f.data or "")[0] for f in events if f.event == "messages"]
    assert {chunk["type"] for chunk in chunks} >= {"ai", "tool"}
    assert all(re.fullmatch(r"run-[0-9a-f-]{36}", c["id"]) for c in chunks if c["type"] == "ai")
    tool = next(chunk for chunk in chunks if chunk["type"] == "tool")
    assert tool["id"].startswith("run-")
    assert tool["id"].endswith("-tool-" + tool["tool_call_id"])


# --- recordings that differ only in what a run makes up -------------------------------------


async def record_agent(
    url: str,
    path: Path,
    *,
    assistant: str,
    headers: dict[str, str] | None = None,
    label: str | None = None,
) -> Path:
    """One thread run of an agent assistant; the debug mode carries the run's config (where
    the server copies the client's user-agent and x-* headers, and the run's ``label``)."""
    session = CassetteSession(path, mode="record")
    client = session.client(url, headers=headers)
    thread = await client.threads.create()
    config = {"configurable": {"label": label}} if label is not None else None
    async for _ in client.runs.stream(
        thread["thread_id"],
        assistant,
        input=WEATHER,
        config=config,
        stream_mode=[*AGENT_MODES, "values", "debug"],
    ):
        pass
    await client.aclose()
    return session.save()


@pytest.fixture(scope="module")
def agent_runs(langgraph_js_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Seven agent runs: 12 tokens twice from one client and once from another, 15 tokens once;
    three more of 12 tokens with an ``x-request-id`` header and a ``label`` in the run's
    configurable (two differing only in the header, one only in the label). The token count is
    the assistant's configuration, so the run requests are alike."""
    from langgraph_sdk import get_client

    folder = tmp_path_factory.mktemp("agent-runs")
    paths: dict[str, Path] = {}
    firefox = "Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0"

    async def record_all() -> None:
        async with get_client(url=langgraph_js_url) as client:
            assistants = {
                tokens: (
                    await client.assistants.create(
                        "agent", config={"configurable": {"tokens": tokens}}
                    )
                )["assistant_id"]
                for tokens in (12, 15)
            }
        plans = {
            "sdk-12": {"assistant": assistants[12]},
            "browser-12": {"assistant": assistants[12], "headers": {"user-agent": firefox}},
            "sdk-12-again": {"assistant": assistants[12]},
            "sdk-15": {"assistant": assistants[15]},
            **{
                name: {
                    "assistant": assistants[12],
                    "headers": {"x-request-id": request_id},
                    "label": label,
                }
                for name, request_id, label in (
                    ("request-a", "req-0001", "first"),
                    ("request-b", "req-0002", "first"),
                    ("label-b", "req-0001", "second"),
                )
            },
        }

        async def one(name: str, plan: dict[str, Any]) -> None:
            paths[name] = await record_agent(langgraph_js_url, folder / f"{name}.json", **plan)

        async with anyio.create_task_group() as group:
            for name, plan in plans.items():
                group.start_soon(one, name, plan)

    anyio.run(record_all)
    return paths


def test_two_runs_of_the_same_agent_compare_equal_in_every_mode(
    agent_runs: dict[str, Path],
) -> None:
    """Fresh ids, tool-call ids without a required digit, timestamps and SSE ids all mask."""
    report = diff_cassettes(
        load(agent_runs["sdk-12"]), load(agent_runs["sdk-12-again"]), modes=["*"]
    )
    assert report.equal, report.render_text()


def test_recordings_from_two_clients_compare_equal(agent_runs: dict[str, Path]) -> None:
    """The user-agent the JS server copies into every config is not drift."""
    first, second = load(agent_runs["sdk-12"]), load(agent_runs["browser-12"])
    texts = [
        json.dumps([i.response.stream.raw.decode() for _, i in c.streams()])
        for c in (first, second)
    ]  # type: ignore[union-attr]
    assert "Firefox/131.0" in texts[1]
    assert "Firefox/131.0" not in texts[0]
    report = diff_cassettes(first, second, modes=["*"])
    assert report.equal, report.render_text()


def test_runs_differing_only_in_an_x_request_id_header_compare_equal(
    agent_runs: dict[str, Path],
) -> None:
    """The x-* request headers the JS server copies into every run's configurable are not
    drift, while a differing configurable value of the run's own is still reported."""
    first, second = load(agent_runs["request-a"]), load(agent_runs["request-b"])
    texts = [
        json.dumps([i.response.stream.raw.decode() for _, i in c.streams()])  # type: ignore[union-attr]
        for c in (first, second)
    ]
    assert '\\"x-request-id\\":\\"req-0001\\"' in texts[0]
    assert '\\"x-request-id\\":\\"req-0002\\"' in texts[1]
    report = diff_cassettes(first, second, modes=["*"])
    assert report.equal, report.render_text()
    relabelled = diff_cassettes(first, load(agent_runs["label-b"]), modes=["*"])
    assert not relabelled.equal
    paths = {c.path for d in relabelled.differences for c in d.changes}
    assert paths, relabelled.render_text()
    assert all(path.endswith("configurable.label") for path in paths), paths
    assert all("x-request-id" not in line for d in relabelled.differences for line in d.lines())


def test_a_different_token_split_is_only_a_token_difference(agent_runs: dict[str, Path]) -> None:
    """Twelve tokens against fifteen: updates equal; messages-tuple differs only in the
    answer's token frames, with no SSE id shift reported."""
    twelve, fifteen = load(agent_runs["sdk-12"]), load(agent_runs["sdk-15"])
    assert diff_cassettes(twelve, fifteen, modes=["updates"]).equal
    report = diff_cassettes(twelve, fifteen, modes=["messages-tuple"])
    assert not report.equal
    token_frames = {
        name: _answer_token_frames(cassette) for name, cassette in (("12", twelve), ("15", fifteen))
    }
    assert len(token_frames["12"]) == 12
    assert len(token_frames["15"]) == 15
    for difference in report.differences:
        assert difference.mode == "messages", difference.message
        assert all(change.path != "(id)" for change in difference.changes), difference.lines()
        assert difference.recorded_frame is None or difference.recorded_frame in token_frames["12"]
        assert difference.live_frame is None or difference.live_frame in token_frames["15"]


def _answer_token_frames(cassette: Cassette) -> set[int]:
    """The positions of the frames that stream the answer's tokens."""
    _, interaction = next(cassette.streams())
    assert interaction.response is not None
    assert interaction.response.stream is not None
    found: set[int] = set()
    for index, frame in enumerate(interaction.response.stream.frames):
        parsed = frame.parse()
        if parsed.event == "messages":
            chunk = json.loads(parsed.data or "")[0]
            if chunk["type"] == "ai" and chunk["content"]:
                found.add(index)
    return found


def test_sse_ids_mask_as_ordinals(agent_runs: dict[str, Path]) -> None:
    """The JS server's integer SSE ids mask to numbered sse_id placeholders, in order."""
    (stream,) = mask_cassette(load(agent_runs["sdk-15"]))
    ids = [frame.id for frame in stream.frames]
    assert ids == [f"<sse_id:{n}>" for n in range(1, len(ids) + 1)]


def test_learn_files_an_sse_id_shift_as_noise(agent_runs: dict[str, Path]) -> None:
    """Without the SSE id rule, learn proposes it for the ids a longer answer shifts, and no
    id difference is left as behaviour."""
    rules = MaskRules.default().without("sse_id")
    twelve, fifteen = load(agent_runs["sdk-12"]), load(agent_runs["sdk-15"])
    before = diff_cassettes(twelve, fifteen, modes=["updates"], rules=rules)
    assert any(c.path == "(id)" for d in before.differences for c in d.changes)
    learning = learn_rules(twelve, fifteen, rules)
    assert "SseIdRule" in [type(learned.rule).__name__ for learned in learning.learned]
    assert learning.rules.sse_ids
    assert all(c.path != "(id)" for d in learning.remaining for c in d.changes)
    assert diff_cassettes(twelve, fifteen, modes=["updates"], rules=learning.rules).equal


# --- serve: joins it did not record -----------------------------------------------------------


def _sse_frames(body: str) -> list[tuple[str | None, str | None, str | None]]:
    """(event, id, data) of each frame of an SSE body."""
    frames = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            if name in ("event", "id", "data"):
                fields[name] = value
        if fields:
            frames.append((fields.get("event"), fields.get("id"), fields.get("data")))
    return frames


def test_serve_answers_unrecorded_joins_as_the_js_server_does(
    langgraph_js_url: str, tmp_path: Path
) -> None:
    """A join after Last-Event-ID -1, 0, N, past the end, below -1 or not a number, or with
    none, gets from serve exactly the frames the live JS server sends for the same run."""
    path = tmp_path / "resumable.json"
    join, parts = record_a_finished_resumable_run(langgraph_js_url, path)
    last = int(parts[-1].id)
    assert last > 5
    questions: list[str | None] = ["-1", "0", "3", str(last - 1), str(last), str(last + 4)]
    questions += ["-2", "abc", "2.0", "1e1"]
    questions.append(None)  # no header: what the run streams from now on, nothing once over

    def ask(base: str) -> dict[str | None, list[tuple[str | None, str | None, str | None]]]:
        answers = {}
        with httpx.Client(base_url=base, trust_env=False, timeout=30) as http:
            for question in questions:
                headers = {"last-event-id": question} if question is not None else {}
                response = http.get(join, headers=headers)
                answers[question] = _sse_frames(response.text)
        return answers

    live = ask(langgraph_js_url)
    with BackgroundServer(replay_app(path, speed=None)) as server:
        served = ask(server.url)
    assert [frame[1] for frame in live["-1"]] == [str(n) for n in range(last + 1)]
    assert [frame[1] for frame in live["0"]] == [str(n) for n in range(1, last + 1)]
    assert live["abc"] == live["-2"] == live[str(last)] == live[None] == []
    assert served == live


# --- play ---------------------------------------------------------------------------------------


def test_play_prints_the_js_agents_tokens_inline(recordings: dict[str, Recording]) -> None:
    """play shows the JS agent's answer as one line of inline tokens, not one event per token."""
    path = recordings["js-agent-messages-tuple"].path
    result = CliRunner().invoke(main, ["play", str(path), "--instant"])
    assert result.exit_code == 0, result.output
    assert ANSWER in result.output.splitlines()
    # the tool's message is the one messages event not streamed as tokens
    assert result.output.count("Receiving new event of type: messages") == 1
