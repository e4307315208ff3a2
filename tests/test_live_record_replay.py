"""Record real runs through the SDK, then replay them offline: same parts, same bytes.

Every scenario is recorded once against the session's real ``langgraph dev`` (concurrently,
to keep the suite fast), then replayed with both the async and the sync SDK client against
a dead URL, so a request that leaked to the network would fail.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from langgraph_sdk.schema import StreamPart

from streamcassette import (
    Cassette,
    CassetteSession,
    RecordingTransport,
    StreamEnd,
    frames_file_path,
    load,
    save,
)
from streamcassette._sdk import use_cassette

DEAD_URL = "http://127.0.0.1:9"  # discard port: nothing answers there
JOKE = {"topic": "ice cream"}
WEATHER = {"messages": [{"role": "user", "content": "what's the weather in la"}]}


@dataclass(frozen=True)
class Scenario:
    """One SDK run (or a few) to record: graph, input, stream options, client kind."""

    name: str
    graph: str
    input: Any
    stream: dict[str, Any] = field(default_factory=dict)
    thread: bool = True
    record_sync: bool = False  # record with the sync client instead of the async one


SCENARIOS = [
    Scenario("joke-values", "joke", JOKE, {"stream_mode": "values"}),
    Scenario(
        "joke-updates-stateless",
        "joke",
        JOKE,
        {"stream_mode": "updates"},
        thread=False,
        record_sync=True,
    ),
    Scenario("agent-messages", "agent", WEATHER, {"stream_mode": "messages"}),
    Scenario(
        "agent-messages-tuple-stateless",
        "agent",
        WEATHER,
        {"stream_mode": "messages-tuple"},
        thread=False,
    ),
    Scenario("custom", "custom", {}, {"stream_mode": "custom"}, record_sync=True),
    Scenario("joke-debug", "joke", JOKE, {"stream_mode": "debug"}),
    Scenario("agent-events", "agent", WEATHER, {"stream_mode": "events"}, record_sync=True),
    Scenario("joke-tasks", "joke", JOKE, {"stream_mode": "tasks"}),
    Scenario("joke-checkpoints", "joke", JOKE, {"stream_mode": "checkpoints"}, thread=False),
    Scenario(
        "agent-several-modes",
        "agent",
        WEATHER,
        {"stream_mode": ["values", "updates", "messages-tuple", "custom"]},
    ),
    Scenario(
        "subgraph-updates-with-subgraphs",
        "subgraph",
        {"foo": "foo"},
        {"stream_mode": "updates", "stream_subgraphs": True},
        record_sync=True,
    ),
    Scenario(
        "subgraph-values-debug-with-subgraphs-stateless",
        "subgraph",
        {"foo": "foo"},
        {"stream_mode": ["values", "debug"], "stream_subgraphs": True},
        thread=False,
    ),
    Scenario(
        "subgraph-updates-without-subgraphs", "subgraph", {"foo": "foo"}, {"stream_mode": "updates"}
    ),
    Scenario("failing-node", "failing", {}, {"stream_mode": "updates"}),
    Scenario(
        "resumable-ids",
        "joke",
        JOKE,
        {"stream_mode": ["updates", "values"], "stream_resumable": True},
    ),
]


# --- the SDK code under test: written once per client kind, used live and in replay ----


async def run_async(client: Any, scenario: Scenario) -> list[StreamPart]:
    thread_id = (await client.threads.create())["thread_id"] if scenario.thread else None
    return [
        part
        async for part in client.runs.stream(
            thread_id, scenario.graph, input=scenario.input, **scenario.stream
        )
    ]


def run_sync(client: Any, scenario: Scenario) -> list[StreamPart]:
    thread_id = client.threads.create()["thread_id"] if scenario.thread else None
    return list(
        client.runs.stream(thread_id, scenario.graph, input=scenario.input, **scenario.stream)
    )


async def interrupt_and_resume_async(client: Any) -> list[StreamPart]:
    thread_id = (await client.threads.create())["thread_id"]
    parts = [
        p
        async for p in client.runs.stream(
            thread_id, "interrupting", input={}, stream_mode="updates"
        )
    ]
    parts += [
        p
        async for p in client.runs.stream(
            thread_id, "interrupting", command={"resume": "yes"}, stream_mode="updates"
        )
    ]
    return parts


def interrupt_and_resume_sync(client: Any) -> list[StreamPart]:
    thread_id = client.threads.create()["thread_id"]
    parts = list(client.runs.stream(thread_id, "interrupting", input={}, stream_mode="updates"))
    parts += list(
        client.runs.stream(
            thread_id, "interrupting", command={"resume": "yes"}, stream_mode="updates"
        )
    )
    return parts


async def join_resumable_async(client: Any) -> list[StreamPart]:
    """Read two events of a resumable run, drop the stream, then join from the last id."""
    thread_id = (await client.threads.create())["thread_id"]
    parts: list[StreamPart] = []
    stream = client.runs.stream(
        thread_id, "slow", input={}, stream_mode="updates", stream_resumable=True
    )
    async with contextlib.aclosing(stream):
        async for part in stream:
            parts.append(part)
            if len(parts) == 2:
                break
    run_id = parts[0].data["run_id"]
    parts += [
        p async for p in client.runs.join_stream(thread_id, run_id, last_event_id=parts[-1].id)
    ]
    return parts


def join_resumable_sync(client: Any) -> list[StreamPart]:
    thread_id = client.threads.create()["thread_id"]
    parts: list[StreamPart] = []
    with contextlib.closing(
        client.runs.stream(
            thread_id, "slow", input={}, stream_mode="updates", stream_resumable=True
        )
    ) as stream:
        for part in stream:
            parts.append(part)
            if len(parts) == 2:
                break
    run_id = parts[0].data["run_id"]
    parts += list(client.runs.join_stream(thread_id, run_id, last_event_id=parts[-1].id))
    return parts


def record_a_finished_resumable_run(url: str, path: Path) -> tuple[str, list[StreamPart]]:
    """A resumable run of ``slow`` (updates and values) recorded to ``path``, to its end:
    the path that joins it, and its parts."""
    session = CassetteSession(path, mode="record")
    client = session.sync_client(url)
    thread = client.threads.create()["thread_id"]
    parts = list(
        client.runs.stream(
            thread, "slow", input={}, stream_mode=["updates", "values"], stream_resumable=True
        )
    )
    client.close()
    session.save()
    return f"/threads/{thread}/runs/{parts[0].data['run_id']}/stream", parts


async def search_assistant_then_run_async(client: Any) -> list[Any]:
    """The seed notebook's way: find the default assistant, then stream a run on a thread."""
    assistants = await client.assistants.search(graph_id="joke")
    assistant = next(a for a in assistants if not a["config"].get("configurable"))
    scenario = Scenario("search", assistant["assistant_id"], JOKE, {"stream_mode": "updates"})
    return [assistant["graph_id"], *await run_async(client, scenario)]


def search_assistant_then_run_sync(client: Any) -> list[Any]:
    assistants = client.assistants.search(graph_id="joke")
    assistant = next(a for a in assistants if not a["config"].get("configurable"))
    scenario = Scenario("search", assistant["assistant_id"], JOKE, {"stream_mode": "updates"})
    return [assistant["graph_id"], *run_sync(client, scenario)]


@dataclass
class Flow:
    """A named piece of SDK code in its async and sync spelling."""

    name: str
    run_async: Callable[[Any], Coroutine[Any, Any, list[StreamPart]]]
    run_sync: Callable[[Any], list[StreamPart]]
    record_sync: bool = False


def scenario_flows(scenarios: list[Scenario]) -> list[Flow]:
    """One flow per scenario: the run streamed with the async or the sync client."""
    return [
        Flow(s.name, lambda c, s=s: run_async(c, s), lambda c, s=s: run_sync(c, s), s.record_sync)
        for s in scenarios
    ]


def flows() -> list[Flow]:
    found = scenario_flows(SCENARIOS)
    found.append(
        Flow("interrupt-and-resume", interrupt_and_resume_async, interrupt_and_resume_sync)
    )
    found.append(
        Flow("assistants-search", search_assistant_then_run_async, search_assistant_then_run_sync)
    )
    found.append(
        Flow(
            "resumable-join-last-event-id",
            join_resumable_async,
            join_resumable_sync,
            record_sync=True,
        )
    )
    return found


FLOWS = {flow.name: flow for flow in flows()}


@dataclass
class Recording:
    path: Path
    live: list[StreamPart]


def record_flows(url: str, flows: list[Flow], folder: Path) -> dict[str, Recording]:
    """Every flow recorded live once from the server at ``url``, all at the same time."""
    results: dict[str, Recording] = {}

    async def record_async(flow: Flow) -> None:
        session = CassetteSession(folder / f"{flow.name}.json", mode="record")
        client = session.client(url)
        with anyio.fail_after(60):
            live = await flow.run_async(client)
        await client.aclose()
        results[flow.name] = Recording(session.save(), live)

    def record_sync(flow: Flow) -> None:
        session = CassetteSession(folder / f"{flow.name}.json", mode="record")
        client = session.sync_client(url)
        live = flow.run_sync(client)
        client.close()
        results[flow.name] = Recording(session.save(), live)

    async def record_all() -> None:
        async with anyio.create_task_group() as group:
            for flow in flows:
                if flow.record_sync:
                    group.start_soon(anyio.to_thread.run_sync, record_sync, flow)
                else:
                    group.start_soon(record_async, flow)

    anyio.run(record_all)
    return results


@pytest.fixture(scope="module")
def recordings(
    langgraph_url: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Recording]:
    """Every flow recorded live once, all at the same time."""
    return record_flows(langgraph_url, list(FLOWS.values()), tmp_path_factory.mktemp("cassettes"))


@pytest.fixture(scope="module")
def layouts(
    recordings: dict[str, Recording], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Path]]:
    """Each recording as saved (small, so embedded) and re-saved with attached frames."""
    folder = tmp_path_factory.mktemp("attached")
    attached = {
        name: save(load(recording.path), folder / recording.path.name, attach=True)
        for name, recording in recordings.items()
    }
    for path in attached.values():
        assert frames_file_path(path).exists()
    return {
        "embedded": {name: recording.path for name, recording in recordings.items()},
        "attached": attached,
    }


def served_by(session: CassetteSession, client: Any) -> Cassette:
    """Tee what the replay transport serves into a cassette, to compare bytes."""
    served = Cassette()
    http = client.http.client
    if isinstance(http, httpx.AsyncClient):
        from streamcassette import AsyncRecordingTransport

        http._transport = AsyncRecordingTransport(served, http._transport)
    else:
        http._transport = RecordingTransport(served, http._transport)
    return served


def assert_same_bytes(recorded_path: Path, served: Cassette) -> None:
    recorded = load(recorded_path)
    recorded_streams = [i.response.stream for _, i in recorded.streams()]  # type: ignore[union-attr]
    served_streams = [i.response.stream for _, i in served.streams()]  # type: ignore[union-attr]
    assert len(served_streams) == len(recorded_streams) > 0
    for before, after in zip(recorded_streams, served_streams, strict=True):
        assert before is not None
        assert after is not None
        assert after.raw == before.raw
        assert [frame.raw for frame in after.frames] == [frame.raw for frame in before.frames]


@pytest.mark.parametrize("layout", ["embedded", "attached"])
@pytest.mark.parametrize("name", list(FLOWS))
@pytest.mark.anyio
async def test_async_replay_yields_the_live_parts_and_bytes(
    recordings: dict[str, Recording],
    layouts: dict[str, dict[str, Path]],
    name: str,
    layout: str,
) -> None:
    """The async SDK replays a recording offline with the same parts and the same bytes,
    with its frames embedded in the cassette or attached in a .sse file."""
    await check_async_replay(FLOWS[name], recordings[name], layouts[layout][name])


async def check_async_replay(flow: Flow, recording: Recording, path: Path) -> None:
    """The flow replayed by the async SDK from ``path`` gives the live parts and bytes."""
    session = CassetteSession(path)
    client = session.client(DEAD_URL)
    served = served_by(session, client)
    replayed = await flow.run_async(client)
    await client.aclose()
    assert replayed == recording.live
    assert_same_bytes(recording.path, served)
    assert session.replayer is not None
    assert session.replayer.unmatched == []


@pytest.mark.parametrize("layout", ["embedded", "attached"])
@pytest.mark.parametrize("name", list(FLOWS))
def test_sync_replay_yields_the_live_parts_and_bytes(
    recordings: dict[str, Recording],
    layouts: dict[str, dict[str, Path]],
    name: str,
    layout: str,
) -> None:
    """The sync SDK replays a recording offline with the same parts and the same bytes,
    with its frames embedded in the cassette or attached in a .sse file."""
    check_sync_replay(FLOWS[name], recordings[name], layouts[layout][name])


def check_sync_replay(flow: Flow, recording: Recording, path: Path) -> None:
    """The flow replayed by the sync SDK from ``path`` gives the live parts and bytes."""
    session = CassetteSession(path)
    client = session.sync_client(DEAD_URL)
    served = served_by(session, client)
    replayed = flow.run_sync(client)
    client.close()
    assert replayed == recording.live
    assert_same_bytes(recording.path, served)


def test_recordings_hold_what_the_server_sent(recordings: dict[str, Recording]) -> None:
    """The recordings show the server's own shapes: errors, ids, joins, follow-up GETs."""
    failing = load(recordings["failing-node"].path)
    assert any(
        frame.event == "error" for _, i in failing.streams() for frame in i.response.stream.events()
    )  # type: ignore[union-attr]
    resumable = load(recordings["resumable-ids"].path)
    _, stream_interaction = next(resumable.streams())
    events = list(stream_interaction.response.stream.events())  # type: ignore[union-attr]
    assert events
    assert all(frame.id for frame in events)
    # The server sends no `end` event, so the SDK checks the run through `Location`.
    location = stream_interaction.response.header("location")  # type: ignore[union-attr]
    assert location is not None
    run_path = location.removesuffix("/stream")
    assert [i.request.describe() for i in resumable.interactions][-1] == f"GET {run_path}"
    joined = load(recordings["resumable-join-last-event-id"].path)
    streams = [i for _, i in joined.streams()]
    assert streams[0].response.stream.end is StreamEnd.CLIENT_STOPPED  # type: ignore[union-attr]
    assert streams[1].request.method == "GET"
    assert streams[1].request.header("last-event-id") is not None
    interrupted = recordings["interrupt-and-resume"].live
    assert any(p.event == "updates" and "__interrupt__" in p.data for p in interrupted)


@pytest.mark.anyio
async def test_use_cassette_wires_code_that_calls_get_client_itself(
    langgraph_url: str, tmp_path: Path
) -> None:
    """Code that builds its own client with get_client(url=...) records and replays unchanged."""
    from langgraph_sdk import get_client, get_sync_client

    scenario = SCENARIOS[0]

    async def code_under_test(url: str) -> tuple[list[StreamPart], list[StreamPart]]:
        async_client, sync_client = get_client(url=url), get_sync_client(url=url)
        async_parts = await run_async(async_client, scenario)
        sync_parts = await anyio.to_thread.run_sync(run_sync, sync_client, scenario)
        await async_client.aclose()
        sync_client.close()
        return async_parts, sync_parts

    path = tmp_path / "wired.json"
    with use_cassette(path, mode="record"):
        live = await code_under_test(langgraph_url)
    with use_cassette(path) as session:
        replayed = await code_under_test(DEAD_URL)
    assert replayed == live
    assert session.replayer is not None
    assert all(session.replayer.played)


@pytest.mark.anyio
async def test_recorder_passes_the_first_event_on_before_the_server_sends_the_second(
    langgraph_url: str, tmp_path: Path
) -> None:
    """Through the recorder, the first update arrives while the server is still gated."""
    gate = tmp_path / "gate"
    session = CassetteSession(tmp_path / "gated.json", mode="record")
    client = session.client(langgraph_url)
    updates: list[dict[str, Any]] = []
    gate_existed_at_first_update: list[bool] = []
    with anyio.fail_after(25):
        async for part in client.runs.stream(
            None, "gated", input={"gate": str(gate)}, stream_mode="updates"
        ):
            if part.event != "updates":
                continue
            updates.append(part.data)
            if len(updates) == 1:
                # The node after this one waits for the gate, so the server cannot have
                # sent the second update yet: we only see this one because it was passed on.
                gate_existed_at_first_update.append(gate.exists())
                gate.touch()
    await client.aclose()
    assert gate_existed_at_first_update == [False]
    assert [next(iter(update)) for update in updates] == ["first", "second"]
    stream = next(session.cassette.streams())[1].response.stream  # type: ignore[union-attr]
    recorded = [frame for frame in stream.events() if frame.event == "updates"]
    assert [json.loads(frame.data or "") for frame in recorded] == updates


def test_concurrent_recordings_do_not_interfere(recordings: dict[str, Recording]) -> None:
    """Flows recorded at once (threads and tasks) each kept only their own graph's runs."""
    graphs = {s.name: s.graph for s in SCENARIOS}
    graphs |= {"interrupt-and-resume": "interrupting", "resumable-join-last-event-id": "slow"}
    # The search flow streams on the assistant's id, which the search answered with.
    search = load(recordings["assistants-search"].path)
    assert search.interactions[0].request.describe() == "POST /assistants/search"
    assert search.interactions[0].response is not None
    graphs["assistants-search"] = search.interactions[0].response.body.json()[0]["assistant_id"]  # type: ignore[union-attr]
    for name, recording in recordings.items():
        cassette = load(recording.path)
        assert cassette.provenance["server"]["version"], name
        assistants = {
            i.request.body.json().get("assistant_id")
            for i in cassette.interactions
            if i.request.path.endswith("/runs/stream") and i.request.body is not None
        }
        assert assistants == {graphs[name]}, name


class DroppingTransport(httpx.AsyncBaseTransport):
    """Cuts the first run stream after ``keep`` chunks, as a flaky network would."""

    def __init__(self, inner: httpx.AsyncBaseTransport, keep: int) -> None:
        self.inner = inner
        self.keep = keep
        self.dropped = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if self.dropped or not request.url.path.endswith("/runs/stream"):
            return response
        self.dropped = True
        inner_stream = response.stream
        assert isinstance(inner_stream, httpx.AsyncByteStream)
        keep = self.keep

        class Cut(httpx.AsyncByteStream):
            async def __aiter__(self):  # type: ignore[no-untyped-def]
                sent = 0
                async for chunk in inner_stream:
                    if sent == keep:
                        raise httpx.RemoteProtocolError("peer closed connection (test)")
                    sent += 1
                    yield chunk

            async def aclose(self) -> None:
                await inner_stream.aclose()

        return httpx.Response(response.status_code, headers=response.headers, stream=Cut())

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.anyio
async def test_sdk_reconnect_after_a_dropped_stream_replays_as_recorded(
    langgraph_url: str, tmp_path: Path
) -> None:
    """A resumable stream cut mid-run reconnects to Location with Last-Event-ID, in replay too."""
    from langgraph_sdk import get_client

    async def resumable_run(client: Any) -> list[StreamPart]:
        thread_id = (await client.threads.create())["thread_id"]
        return [
            part
            async for part in client.runs.stream(
                thread_id, "slow", input={}, stream_mode="updates", stream_resumable=True
            )
        ]

    path = tmp_path / "reconnect.json"
    recording = CassetteSession(path, mode="record")
    client = get_client(url=langgraph_url)
    dropper = DroppingTransport(httpx.AsyncHTTPTransport(), keep=2)
    client.http.client._transport = recording.async_transport(dropper)
    live = await resumable_run(client)
    await client.aclose()
    recording.save()
    assert dropper.dropped

    cassette = load(path)
    described = [i.request.describe() for i in cassette.interactions]
    dropped_stream = cassette.interactions[1].response.stream  # type: ignore[union-attr]
    assert dropped_stream is not None
    assert dropped_stream.end is StreamEnd.DROPPED
    location = cassette.interactions[1].response.header("location")  # type: ignore[union-attr]
    reconnect = cassette.interactions[2].request
    assert described[2] == f"GET {location}"
    assert reconnect.header("last-event-id") == dropped_stream.frames[-1].parse().id
    # Every step of the slow graph arrives exactly once across the drop.
    steps = [next(iter(p.data)) for p in live if p.event == "updates"]
    assert steps == sorted(set(steps))
    assert len(steps) == 5

    replay = CassetteSession(path)
    replayed = await resumable_run(replay.client(DEAD_URL))
    assert replayed == live
    assert replay.replayer is not None
    assert all(replay.replayer.played)
