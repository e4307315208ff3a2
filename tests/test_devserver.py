"""The dev server launcher (``langgraph dev`` and the JavaScript server), and the test graphs
it serves, against the real servers."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import anyio
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.schema import StreamPart

from streamcassette.devserver import DevServerError, LangGraphDevServer, config_server

GRAPHS = Path(__file__).parent / "graphs"
ANSWER = "The weather in Los Angeles is sunny and 72 degrees."

pytestmark = pytest.mark.live


@pytest.fixture
async def client(langgraph_url: str) -> AsyncIterator[LangGraphClient]:
    async with get_client(url=langgraph_url, api_key=None) as client:
        yield client


async def collect(
    client: LangGraphClient, thread_id: str | None, **kwargs: Any
) -> list[StreamPart]:
    return [part async for part in client.runs.stream(thread_id, **kwargs)]


async def both_ways(client: LangGraphClient, **kwargs: Any) -> dict[str, list[StreamPart]]:
    """Run the same request on a new thread and stateless, concurrently (one queue wait)."""
    thread_id = (await client.threads.create())["thread_id"]
    results: dict[str, list[StreamPart]] = {}

    async def run(name: str, thread: str | None) -> None:
        results[name] = await collect(client, thread, **kwargs)

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "thread", thread_id)
        tg.start_soon(run, "stateless", None)
    return results


def payloads(parts: list[StreamPart], event: str) -> list[Any]:
    return [part.data for part in parts if part.event == event]


def test_server_listens_on_a_free_loopback_port(langgraph_server: LangGraphDevServer) -> None:
    """The session server runs on 127.0.0.1, not on port 2024, and answers GET /ok."""
    assert langgraph_server.url == f"http://127.0.0.1:{langgraph_server.port}"
    assert langgraph_server.port != 2024
    with urllib.request.urlopen(f"{langgraph_server.url}/ok", timeout=5) as response:
        assert json.loads(response.read())["ok"] is True
    assert langgraph_server.info()["version"]
    assert langgraph_server.workdir != GRAPHS
    assert (langgraph_server.workdir / "langgraph.json").is_file()


@pytest.mark.anyio
async def test_joke_streams_both_node_updates(client: LangGraphClient) -> None:
    """The joke graph streams refine_topic, then generate_joke, on a thread and stateless."""
    results = await both_ways(
        client, assistant_id="joke", input={"topic": "ice cream"}, stream_mode="updates"
    )
    for parts in results.values():
        assert [part.event for part in parts] == ["metadata", "updates", "updates"]
        assert payloads(parts, "updates") == [
            {"refine_topic": {"topic": "ice cream and cats"}},
            {"generate_joke": {"joke": "This is a joke about ice cream and cats"}},
        ]


@pytest.mark.anyio
async def test_subgraph_streams_namespaced_updates(client: LangGraphClient) -> None:
    """With stream_subgraphs the subgraph's updates arrive under an ``updates|node_2:…`` event."""
    results = await both_ways(
        client,
        assistant_id="subgraph",
        input={"foo": "foo"},
        stream_mode="updates",
        stream_subgraphs=True,
    )
    for parts in results.values():
        nested = [part for part in parts if part.event.startswith("updates|node_2:")]
        assert [part.data for part in nested] == [
            {"subgraph_node_1": {"bar": "bar"}},
            {"subgraph_node_2": {"foo": "hi! foobar"}},
        ]
        assert payloads(parts, "updates")[-1] == {"node_2": {"foo": "hi! foobar"}}


@pytest.mark.anyio
async def test_agent_streams_tokens_and_a_tool_call(client: LangGraphClient) -> None:
    """messages-tuple yields the search tool call, the tool result and the answer token by token."""
    results = await both_ways(
        client,
        assistant_id="agent",
        input={"messages": [{"role": "user", "content": "what's the weather in la"}]},
        stream_mode="messages-tuple",
    )
    tokens_per_run = []
    for parts in results.values():
        messages = payloads(parts, "messages")
        chunks = [chunk for chunk, _metadata in messages if chunk["type"] == "AIMessageChunk"]
        calls = [call for chunk in chunks for call in chunk["tool_call_chunks"] if call["name"]]
        assert [call["name"] for call in calls] == ["search"]
        assert [m["name"] for m, _ in messages if m["type"] == "tool"] == ["search"]
        tokens = [chunk["content"] for chunk in chunks if chunk["content"]]
        assert len(tokens) > 5
        assert "".join(tokens) == ANSWER
        assert {metadata["langgraph_node"] for _, metadata in messages} == {"agent", "action"}
        tokens_per_run.append(tokens)
    assert tokens_per_run[0] == tokens_per_run[1]


@pytest.mark.anyio
async def test_custom_streams_writer_events(client: LangGraphClient) -> None:
    """Events written with get_stream_writer arrive as ``custom`` events before the update."""
    results = await both_ways(
        client, assistant_id="custom", input={}, stream_mode=["custom", "updates"]
    )
    for parts in results.values():
        assert [part.event for part in parts] == ["metadata", *["custom"] * 3, "updates"]
        assert payloads(parts, "custom") == [{"progress": 1}, {"progress": 2}, {"progress": 3}]


@pytest.mark.anyio
async def test_failing_streams_an_error_event(client: LangGraphClient) -> None:
    """A node raising ValueError ends the stream with an ``error`` event."""
    results = await both_ways(client, assistant_id="failing", input={}, stream_mode="updates")
    for parts in results.values():
        assert parts[-1].event == "error"
        assert parts[-1].data == {"error": "ValueError", "message": "boom"}


@pytest.mark.anyio
async def test_interrupting_stops_and_resumes(client: LangGraphClient) -> None:
    """The first run stops with ``__interrupt__``; resuming with "yes" stores the answer."""
    thread_id = (await client.threads.create())["thread_id"]
    first = await collect(
        client, thread_id, assistant_id="interrupting", input={}, stream_mode="updates"
    )
    (interrupted,) = payloads(first, "updates")
    assert interrupted["__interrupt__"][0]["value"] == {"question": "approve?"}

    resumed = await collect(
        client,
        thread_id,
        assistant_id="interrupting",
        command={"resume": "yes"},
        stream_mode="updates",
    )
    assert payloads(resumed, "updates") == [{"ask": {"approved": "yes"}}]
    state = await client.threads.get_state(thread_id)
    assert state["values"] == {"approved": "yes"}


@pytest.mark.anyio
async def test_gated_waits_for_the_gate_file(client: LangGraphClient, tmp_path: Path) -> None:
    """The first update reaches the client while the second node still waits for the gate."""
    gate = tmp_path / "gate"
    updates = []
    stream = client.runs.stream(None, "gated", input={"gate": str(gate)}, stream_mode="updates")
    async for part in stream:
        if part.event != "updates":
            continue
        updates.append(part.data)
        if "first" in part.data:
            assert not gate.exists()
            gate.touch()
    assert updates == [{"first": {"first": "done"}}, {"second": {"second": "done"}}]


@pytest.mark.anyio
async def test_slow_run_can_be_joined_mid_way(client: LangGraphClient) -> None:
    """A resumable slow run streams five steps; joining after step 2 yields steps 3 to 5."""
    thread_id = (await client.threads.create())["thread_id"]
    seen: list[StreamPart] = []
    stream = client.runs.stream(
        thread_id, "slow", input={}, stream_mode="updates", stream_resumable=True
    )
    async with aclosing(stream):
        async for part in stream:
            seen.append(part)
            if part.event == "updates" and "step_2" in part.data:
                break
    run_id = seen[0].data["run_id"]
    assert all(part.id for part in seen)

    joined = [
        part async for part in client.runs.join_stream(thread_id, run_id, last_event_id=seen[-1].id)
    ]
    assert payloads(joined, "updates") == [{f"step_{i}": {"done": [i]}} for i in (3, 4, 5)]


def test_broken_config_raises_with_the_log_tail(tmp_path: Path) -> None:
    """A graph module that fails to import makes wait_ready raise with the command and log."""
    (tmp_path / "bad.py").write_text('raise RuntimeError("graph module exploded on import")\n')
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"dependencies": ["."], "graphs": {"bad": "./bad.py:graph"}}))
    server = LangGraphDevServer(config)
    server.start()
    try:
        with pytest.raises(DevServerError) as excinfo:
            server.wait_ready(timeout=60)
    finally:
        server.stop()
    message = str(excinfo.value)
    assert "langgraph dev exited before it was ready" in message
    assert f"--port {server.port}" in message
    assert "exit code: " in message
    assert "exploded on import" in message
    assert not (tmp_path / ".langgraph_api").exists()
    assert not (tmp_path / "langgraph-dev.log").exists()


def test_lost_port_race_follows_the_servers_choice() -> None:
    """If the guessed port is taken before the server binds it, the launcher adopts its choice."""
    server = LangGraphDevServer(GRAPHS / "langgraph.json")
    guessed = server.port
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", guessed))
        squatter.listen()
        with server:
            assert server.port != guessed
            with urllib.request.urlopen(f"{server.url}/ok", timeout=5) as response:
                assert response.status == 200


def test_taken_explicit_port_raises() -> None:
    """A port chosen by the caller that is already taken is an error, not a silent move."""
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = LangGraphDevServer(GRAPHS / "langgraph.json", port=port)
        with pytest.raises(DevServerError, match=f"port {port} is in use"), server:
            pass


JS_GRAPHS = Path(__file__).parent / "js_graphs"


@pytest.mark.parametrize(
    ("config", "server"),
    [
        ({"dependencies": ["."], "graphs": {"a": "./a.py:graph"}}, "python"),
        ({"graphs": {"a": "./src/graph.ts:graph"}}, "js"),
        ({"graphs": {"a": {"path": "./src/graph.mjs:graph"}}}, "js"),
        ({"node_version": "20", "graphs": {}}, "js"),
        ({"graphs": {"a": "./agent.py:graph", "b": "./ui.tsx:graph"}}, "js"),
    ],
)
def test_the_config_says_which_server_it_is_for(
    tmp_path: Path, config: dict[str, Any], server: str
) -> None:
    """JavaScript or TypeScript graph files, or a node_version, make a config the JS server's."""
    path = tmp_path / "langgraph.json"
    path.write_text(json.dumps(config))
    assert config_server(path) == server
    assert LangGraphDevServer(path).server == server
    assert LangGraphDevServer(path, server="python").server == "python"


def test_a_js_project_without_its_cli_says_what_to_install(tmp_path: Path) -> None:
    """No @langchain/langgraph-cli in the project's node_modules: a clear error, nothing run."""
    (tmp_path / "langgraph.json").write_text('{"graphs": {"a": "./graph.ts:graph"}}')
    server = LangGraphDevServer(tmp_path / "langgraph.json", workdir=tmp_path)
    with pytest.raises(DevServerError, match="npm install --save-dev @langchain/langgraph-cli"):
        server.start()
    assert not server.running


def test_the_js_server_starts_on_a_free_port_and_stops_with_its_process_group() -> None:
    """The project's JS server answers on its loopback port; stop() ends its whole group."""
    with LangGraphDevServer(JS_GRAPHS / "langgraph.json") as server:
        assert server.server == "js"
        assert server.command[0] == str(JS_GRAPHS / "node_modules" / ".bin" / "langgraphjs")
        assert server.info()["context"] == "js"
        assert server._process is not None
        group = server._process.pid
    assert running_in_group(group) == []
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{server.url}/ok", timeout=2)


def running_in_group(group: int) -> list[int]:
    """The processes of a process group that still run (zombies that no init reaped do not)."""
    running = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rpartition(")")[2].split()
            if int(fields[2]) == group and fields[0] != "Z":
                running.append(int(entry.name))
    return running


def test_stopping_waits_until_the_whole_group_is_gone() -> None:
    """A group whose leader is reaped while a member is still alive: the wait returns once no
    member runs (a member dying a moment longer would still hold the server's socket)."""
    from streamcassette.devserver import _alive_in_group, _wait_until_gone

    leader = subprocess.Popen(["sh", "-c", "sleep 30 & sleep 30 & wait"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while len(running_in_group(leader.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(running_in_group(leader.pid)) == 3
        assert _alive_in_group(leader.pid)
        os.killpg(leader.pid, signal.SIGKILL)
        _wait_until_gone(leader.pid, 10)
        assert running_in_group(leader.pid) == []
        assert not _alive_in_group(leader.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(leader.pid, signal.SIGKILL)
        leader.wait()
