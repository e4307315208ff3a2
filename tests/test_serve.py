"""``streamcassette serve``: real clients (the JS SDK, the Python SDK, curl) replay recordings."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio
import httpx
import pytest
from click.testing import CliRunner
from jsclient import cli, curl, run_js, sdk_part
from langgraph_sdk import get_client
from langgraph_sdk.errors import NotFoundError
from test_live_record_replay import record_a_finished_resumable_run

from streamcassette import (
    Body,
    Cassette,
    FrameDecoder,
    Interaction,
    RecordedError,
    RecordedFrame,
    RecordedRequest,
    RecordedResponse,
    RecordedStream,
    StreamEnd,
    load,
    parse_frame,
    save,
    use_cassette,
)
from streamcassette.cli import main
from streamcassette.serve import (
    RECORDING_HEADER,
    BackgroundServer,
    Library,
    LibraryError,
    proxy_app,
    replay_app,
)

AGENT_INPUT = {"messages": [{"role": "user", "content": "what's the weather in la"}]}
JOKE = {"input": {"topic": "ice cream"}, "streamMode": ["values", "updates"]}
SUBGRAPH = {"input": {"foo": "x"}, "streamMode": ["updates"], "streamSubgraphs": True}
# The JS SDK calls of a small front end: several stream modes, subgraphs, a stream it stops
# reading after two parts and then joins with the last event id it saw.
JS_PLAN = [
    {"op": "searchAssistants"},
    {"op": "createThread"},
    {"op": "stream", "assistant": "joke", "payload": JOKE},
    {"op": "getState"},
    {"op": "stream", "stateless": True, "assistant": "subgraph", "payload": SUBGRAPH},
    {"op": "createThread"},
    {
        "op": "stream",
        "assistant": "agent",
        "payload": {"input": AGENT_INPUT, "streamMode": ["messages-tuple", "values"]},
    },
    {
        "op": "stream",
        "stateless": True,
        "assistant": "custom",
        "payload": {"input": {}, "streamMode": ["custom"]},
    },
    {"op": "createThread"},
    {
        "op": "stream",
        "assistant": "slow",
        "payload": {"input": {}, "streamMode": ["updates"], "streamResumable": True},
        "stopAfter": 2,
    },
    {"op": "joinStream", "afterPart": 1},
    {"op": "getRun"},
    {"op": "listRuns"},
]


@pytest.fixture
def http():
    """A plain httpx client for loopback (no proxies from the environment)."""
    with httpx.Client(trust_env=False, timeout=30) as client:
        yield client


# --- recordings made once per module against the live server ----------------------------


@pytest.fixture(scope="module")
def js_session(langgraph_url, tmp_path_factory):
    """The JS SDK's plan run live (recorded through the proxy): (cassette folder, its steps)."""
    folder = tmp_path_factory.mktemp("js-session")
    with BackgroundServer(proxy_app(langgraph_url, folder)) as proxy:
        steps = run_js(proxy.url, JS_PLAN)
    return folder, steps


@pytest.fixture(scope="module")
def py_session(langgraph_url, tmp_path_factory):
    """The Python SDK recording a resumable run, two joins and a stateless subgraph run."""
    path = tmp_path_factory.mktemp("py-session") / "session.json"
    return path, anyio.run(_python_session, langgraph_url, path)


async def _python_session(url: str | None, path: Path | None = None) -> dict:
    """Run the Python session live (recording to ``path``) or against a replay server."""
    if path is not None:
        with use_cassette(path, mode="record"):
            async with get_client(url=url) as client:
                return await _python_calls(client)
    async with get_client(url=url, api_key=None) as client:
        return await _python_calls(client)


async def _python_calls(client) -> dict:
    thread = await client.threads.create()
    thread_id = thread["thread_id"]
    stream = [
        sdk_part(part)
        async for part in client.runs.stream(
            thread_id,
            "joke",
            input={"topic": "ice cream"},
            stream_mode=["values", "updates"],
            stream_resumable=True,
        )
    ]
    run_id = stream[0]["data"]["run_id"]
    after = stream[2]["id"]
    joined = [
        sdk_part(part)
        async for part in client.runs.join_stream(thread_id, run_id, last_event_id=after)
    ]
    joined_values = [
        sdk_part(part)
        async for part in client.runs.join_stream(
            thread_id, run_id, last_event_id=after, stream_mode="values"
        )
    ]
    state = await client.threads.get_state(thread_id)
    stateless = [
        sdk_part(part)
        async for part in client.runs.stream(
            None, "subgraph", input={"foo": "x"}, stream_mode="updates", stream_subgraphs=True
        )
    ]
    return {
        "thread": thread,
        "stream": stream,
        "joined": joined,
        "joined_values": joined_values,
        "state": state["values"],
        "stateless": stateless,
    }


def stream_interaction(cassette: Cassette, path_end: str) -> Interaction:
    for _, interaction in cassette.streams():
        if interaction.request.method == "POST" and interaction.request.path.endswith(path_end):
            return interaction
    raise AssertionError(f"no POST …{path_end} stream in {cassette.name}")


# --- real clients against served cassettes ------------------------------------------------


def test_js_sdk_gets_the_live_parts_from_serve(js_session):
    """The JS SDK gets from `serve` exactly what it got live: results, parts, joined parts."""
    folder, live = js_session
    with BackgroundServer(replay_app(folder, speed=None)) as server:
        served = run_js(server.url, JS_PLAN)
    # Every stream mode, the subgraph events and the joined stream are in the comparison.
    events = {part["event"].split("|")[0] for step in live for part in step.get("parts", [])}
    assert {"values", "updates", "messages", "custom", "metadata"} <= events
    assert any("|" in part["event"] for part in live[4]["parts"])
    assert live[10]["parts"]
    assert live[10]["lastEventId"]
    assert served == live


def test_cli_serve_gives_curl_the_recorded_bytes_and_the_js_sdk_its_parts(js_session):
    """`streamcassette serve FOLDER --port N` (a real process) gives curl the recorded bytes."""
    folder, live = js_session
    cassette = load(next(folder.glob("joke-*.json")))
    recorded = stream_interaction(cassette, "/runs/stream")
    assert recorded.request.body is not None
    assert recorded.response is not None
    assert recorded.response.stream is not None
    with cli("serve", str(folder), "--speed", "20") as (url, _process):
        headers_file = folder / "curl-headers.txt"
        body = curl(
            "-X",
            "POST",
            f"{url}{recorded.request.path}",
            "-H",
            "content-type: application/json",
            "--data-binary",
            recorded.request.body.content.decode(),
            "-D",
            str(headers_file),
        )
        served = run_js(url, JS_PLAN)
    # Byte-exact, CRLF line endings included, and the run's ids in its headers as recorded.
    assert body == recorded.response.stream.raw
    assert b"\r\n\r\n" in body
    head = headers_file.read_text().lower()
    assert f"content-location: {recorded.response.header('content-location')}".lower() in head
    assert "content-type: text/event-stream" in head
    assert served == live


@pytest.mark.anyio
async def test_python_sdk_gets_the_live_parts_from_serve(py_session):
    """The Python SDK replays a thread, a resumable run, its joins and a stateless run."""
    path, live = py_session
    with BackgroundServer(replay_app(path, speed=None)) as server:
        served = await _python_session(server.url)
    assert live["joined"]
    assert served == live


@pytest.mark.anyio
async def test_a_join_resumes_from_the_recorded_run_stream(py_session, tmp_path):
    """Without a recorded join, a join after Last-Event-ID gets what the live server sent."""
    path, live = py_session
    cassette = load(path)
    cassette.interactions = [
        interaction
        for interaction in cassette.interactions
        if not (
            interaction.request.method == "GET" and interaction.request.path.endswith("/stream")
        )
    ]
    stripped = save(cassette, tmp_path / "no-joins.json")
    thread_id, run_id = live["thread"]["thread_id"], live["stream"][0]["data"]["run_id"]
    with BackgroundServer(replay_app(stripped, speed=None)) as server:
        served = await _python_session(server.url)
        async with httpx.AsyncClient(trust_env=False) as client:
            joined = await client.get(
                f"{server.url}/threads/{thread_id}/runs/{run_id}/stream",
                headers={"last-event-id": live["stream"][2]["id"]},
            )
    assert joined.headers[RECORDING_HEADER] == f"no-joins#1 joined after {live['stream'][2]['id']}"
    # The live joins resumed after the id and the stream_mode filter kept only values.
    assert live["joined"]
    assert all(part["id"] > live["stream"][2]["id"] for part in live["joined"])
    assert {part["event"] for part in live["joined_values"]} == {"values"}
    assert served["joined"] == live["joined"]
    assert served["joined_values"] == live["joined_values"]


def test_an_unmatched_run_gets_a_langgraph_error_naming_the_recordings(py_session, http):
    """A run with an unrecorded input gets a 404 `detail` with the closest recorded run."""
    path, _live = py_session
    cassette = load(path)
    recorded = stream_interaction(cassette, "/runs/stream")
    body = json.loads(recorded.request.body.content)
    body["input"] = {"topic": "pizza"}
    with BackgroundServer(replay_app(path, speed=None)) as server:
        response = http.post(f"{server.url}{recorded.request.path}", json=body)
        listing = http.get(f"{server.url}/cassettes").json()

        async def sdk_stream() -> None:
            async with get_client(url=server.url, api_key=None) as client:
                async for _ in client.runs.stream(None, "joke", input={"topic": "pizza"}):
                    pass

        with pytest.raises(NotFoundError, match="no recorded run matches"):
            anyio.run(sdk_stream)
    assert response.status_code == 404
    error = response.json()
    lines = error["detail"].splitlines()
    closest = lines[lines.index("closest recorded runs:") + 1]
    assert closest.endswith("input.topic: 'ice cream' -> 'pizza'")
    runs = error["recordings"][0]["runs"]
    assert {run["assistant_id"] for run in runs} == {"joke", "subgraph"}
    assert {"topic": "ice cream"} in [run["input"] for run in runs]
    assert listing["cassettes"][0]["cassette"] == "session"
    assert listing["cassettes"][0]["runs"] == runs


# --- offline: hand-made cassettes ---------------------------------------------------------

SSE = [("content-type", "text/event-stream; charset=utf-8")]


def frame(event: str, data: object, at: float = 0.0, id: str | None = None) -> RecordedFrame:
    raw = f"event: {event}\r\ndata: {json.dumps(data)}\r\n"
    if id is not None:
        raw += f"id: {id}\r\n"
    return RecordedFrame(at, (raw + "\r\n").encode())


def plain(method: str, path: str, reply: object, body: object = None) -> Interaction:
    return Interaction(
        RecordedRequest(method, path, body=Body(json.dumps(body).encode()) if body else None),
        RecordedResponse(
            200, [("content-type", "application/json")], body=Body(json.dumps(reply).encode())
        ),
    )


def run(thread: str | None, run_id: str, frames: list[RecordedFrame], **stream) -> Interaction:
    body = {"input": {"topic": "cats"}, "stream_mode": ["values"], "assistant_id": "joke"}
    path = f"/threads/{thread}/runs/stream" if thread else "/runs/stream"
    location = f"/threads/{thread}/runs/{run_id}" if thread else f"/runs/{run_id}"
    return Interaction(
        RecordedRequest("POST", path, body=Body(json.dumps(body).encode())),
        RecordedResponse(
            200,
            [*SSE, ("location", f"{location}/stream"), ("content-location", location)],
            stream=RecordedStream(frames=frames, **stream),
        ),
    )


def joke_run(thread: str | None, joke: str) -> Interaction:
    return run(
        thread,
        f"run-{joke}",
        [frame("metadata", {"run_id": f"run-{joke}"}), frame("values", {"joke": joke})],
    )


RUN_BODY = {"input": {"topic": "cats"}, "stream_mode": ["values"], "assistant_id": "joke"}


def test_a_cassette_is_picked_by_url_prefix_or_header(tmp_path, http):
    """Two cassettes with the same run: the prefix or header picks one, else the first."""
    for name, joke in (("a", "first"), ("b", "second")):
        save(Cassette([joke_run(None, joke)]), tmp_path / f"{name}.json")
    with BackgroundServer(replay_app(tmp_path, speed=None)) as server:
        default = http.post(f"{server.url}/runs/stream", json=RUN_BODY)
        by_prefix = http.post(f"{server.url}/cassettes/b/runs/stream", json=RUN_BODY)
        by_header = http.post(
            f"{server.url}/runs/stream", json=RUN_BODY, headers={"x-streamcassette-cassette": "b"}
        )
        unknown = http.post(f"{server.url}/cassettes/zzz/runs/stream", json=RUN_BODY)
        listed = http.get(f"{server.url}/cassettes/b").json()["cassettes"]
    assert b"first" in default.content
    assert b"second" in by_prefix.content
    assert by_prefix.headers[RECORDING_HEADER] == "b#0"
    assert b"second" in by_header.content
    assert unknown.status_code == 404
    assert "no cassette named 'zzz'; cassettes: 'a', 'b'" in unknown.json()["detail"]
    assert [cassette["cassette"] for cassette in listed] == ["b"]
    assert listed[0]["runs"][0]["run_id"] == "run-second"


def test_creating_a_thread_then_streaming_works_without_a_recorded_creation(tmp_path, http):
    """`POST /threads` with none recorded returns the recorded run's thread, which then streams."""
    path = save(Cassette([joke_run("t-1", "on a thread")]), tmp_path / "thread.json")
    with BackgroundServer(replay_app(path, speed=None)) as server:
        thread = http.post(f"{server.url}/threads", json={}).json()
        streamed = http.post(
            f"{server.url}/threads/{thread['thread_id']}/runs/stream", json=RUN_BODY
        )
    assert thread["thread_id"] == "t-1"
    assert thread["status"] == "idle"
    assert b"on a thread" in streamed.content


def test_thread_requests_move_forward_through_the_recording(tmp_path, http):
    """The state read after a run is the one recorded after it; a new thread starts over."""
    cassette = Cassette(
        [
            plain("POST", "/threads", {"thread_id": "t-1"}, body={}),
            plain("GET", "/threads/t-1/state", {"values": "before"}),
            joke_run("t-1", "one"),
            plain("GET", "/threads/t-1/state", {"values": "after"}),
        ]
    )
    path = save(cassette, tmp_path / "order.json")
    with BackgroundServer(replay_app(path, speed=None)) as server:
        seen = []
        for _client in range(2):
            http.post(f"{server.url}/threads", json={})
            seen.append(http.get(f"{server.url}/threads/t-1/state").json()["values"])
            http.post(f"{server.url}/threads/t-1/runs/stream", json=RUN_BODY)
            seen.append(http.get(f"{server.url}/threads/t-1/state").json()["values"])
            seen.append(http.get(f"{server.url}/threads/t-1/state").json()["values"])
    assert seen == ["before", "after", "after"] * 2


def test_a_dropped_recording_is_cut_again(tmp_path, http):
    """A stream that broke while recording delivers its frames, then breaks the connection."""
    frames = [frame("metadata", {"run_id": "r"}), frame("values", {"joke": "half"})]
    dropped = run(None, "r", frames, end=StreamEnd.DROPPED, error=RecordedError("ReadError", "x"))
    path = save(Cassette([dropped]), tmp_path / "dropped.json")
    received: list[bytes] = []

    def read(url: str) -> None:
        with http.stream("POST", url, json=RUN_BODY) as response:
            received.extend(response.iter_raw())

    with (
        BackgroundServer(replay_app(path, speed=None)) as server,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        read(f"{server.url}/runs/stream")
    assert b"".join(received) == b"".join(f.raw for f in frames)


def test_browsers_on_another_origin_may_call_it(tmp_path, http):
    """CORS: a front end's preflight is allowed and the run's Location headers are exposed."""
    path = save(Cassette([joke_run(None, "x")]), tmp_path / "cors.json")
    origin = {"origin": "http://localhost:3000"}
    with BackgroundServer(replay_app(path, speed=None)) as server:
        preflight = http.options(
            f"{server.url}/runs/stream",
            headers={**origin, "access-control-request-method": "POST"},
        )
        streamed = http.post(f"{server.url}/runs/stream", json=RUN_BODY, headers=origin)
    assert preflight.status_code == 200
    assert streamed.headers["access-control-allow-origin"] == "*"
    assert "content-location" in streamed.headers["access-control-expose-headers"]


def test_a_cassette_with_attached_frames_is_served_from_its_frames_file(tmp_path, http):
    """An attached cassette in a folder serves its frames from its .sse file (a stream and a
    join after an event id), and the .sse file is not listed as a cassette of its own."""
    frames = [
        frame("metadata", {"run_id": "r-1"}, id="1-0"),
        frame("values", {"joke": "attached"}, at=0.01, id="1-1"),
    ]
    save(Cassette([run("t-1", "r-1", frames)]), tmp_path / "big.json", attach=True)
    save(Cassette([joke_run(None, "embedded")]), tmp_path / "small.json")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["big.json", "big.sse", "small.json"]
    with BackgroundServer(replay_app(tmp_path, speed=None)) as server:
        listed = http.get(f"{server.url}/cassettes").json()["cassettes"]
        streamed = http.post(f"{server.url}/cassettes/big/threads/t-1/runs/stream", json=RUN_BODY)
        joined = http.get(
            f"{server.url}/threads/t-1/runs/r-1/stream", headers={"last-event-id": "1-0"}
        )
    assert [cassette["cassette"] for cassette in listed] == ["big", "small"]
    assert streamed.content == b"".join(f.raw for f in frames)
    assert joined.content == frames[1].raw


def test_a_missing_or_empty_source_is_a_clear_error(tmp_path):
    """A folder without cassettes or a missing path names the path and what to do."""
    with pytest.raises(LibraryError, match="no cassettes"):
        Library.load(tmp_path)
    with pytest.raises(LibraryError, match="no such cassette or folder"):
        Library.load(tmp_path / "missing.json")
    result = CliRunner().invoke(main, ["serve", str(tmp_path), "--speed", "fast"])
    assert result.exit_code == 2
    assert "'fast' is neither a number nor 'instant'" in result.output


# --- load ---------------------------------------------------------------------------------


def test_200_concurrent_streams_from_one_serve_process(js_session):
    """200 concurrent streams from one `serve` process all get every frame, byte for byte."""
    folder, _live = js_session
    recorded = stream_interaction(load(next(folder.glob("agent-*.json"))), "/runs/stream")
    assert recorded.response is not None
    assert recorded.response.stream is not None
    expected = recorded.response.stream.raw
    n_frames = len(recorded.response.stream.frames)
    assert n_frames > 10  # the agent's tokens: many small frames

    async def one(client: httpx.AsyncClient, url: str) -> bytes:
        async with client.stream(
            "POST",
            url,
            content=recorded.request.body.content,
            headers={"content-type": "application/json"},
        ) as response:
            assert response.status_code == 200
            return b"".join([chunk async for chunk in response.aiter_raw()])

    async def load_test(url: str) -> list[bytes]:
        results: list[bytes] = []
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=60, trust_env=False) as client:
            with anyio.fail_after(120):
                async with anyio.create_task_group() as group:
                    for _ in range(200):

                        async def task() -> None:
                            results.append(await one(client, url + recorded.request.path))

                        group.start_soon(task)
        return results

    with cli("serve", str(folder), "--speed", "4") as (url, _process):
        results = anyio.run(load_test, url)
    assert len(results) == 200
    for body in results:
        decoder = FrameDecoder()
        frames = decoder.feed(body)
        assert decoder.flush() == ([], b"")
        assert len(frames) == n_frames
        assert body == expected


# --- packaging ----------------------------------------------------------------------------

BLOCK_WEB = "import sys; sys.modules['starlette'] = None; sys.modules['uvicorn'] = None\n"


def test_the_core_imports_without_the_serve_extra():
    """`import streamcassette` and the SDK wiring need neither starlette nor uvicorn."""
    code = BLOCK_WEB + "import streamcassette, streamcassette.serve; print(streamcassette.Cassette)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Cassette" in proc.stdout


def test_serve_without_the_extra_says_what_to_install(tmp_path):
    """`streamcassette serve` without starlette/uvicorn fails with the pip command to run."""
    path = save(Cassette([joke_run(None, "x")]), tmp_path / "c.json")
    code = BLOCK_WEB + f"from streamcassette.cli import main; main(['serve', {str(path)!r}])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "pip install 'streamcassette[serve]'" in proc.stderr
    assert "starlette and uvicorn" in proc.stderr


def test_a_python_servers_join_resumes_in_ms_seq_order(tmp_path, http):
    """``<ms>-<seq>`` ids resume in (ms, seq) order, where ``-10`` comes after ``-9`` although
    it sorts before it as text; the Python server's provenance says which order applies."""
    ids = [f"1795300154161-{seq}" for seq in range(12)] + ["1795300154162-0"]
    frames = [frame("values", {"n": n}, id=event_id) for n, event_id in enumerate(ids)]
    cassette = Cassette([run("t-1", "r-1", frames)])
    cassette.provenance["server"] = {"version": "0.16.7", "langgraph_py_version": "1.2.22"}
    save(cassette, tmp_path / "python.json")
    with BackgroundServer(replay_app(tmp_path, speed=None)) as server:
        joined = http.get(
            f"{server.url}/threads/t-1/runs/r-1/stream", headers={"last-event-id": ids[9]}
        )
    served = [parse_frame(raw).id for raw in FrameDecoder().feed(joined.content)]
    assert served == ids[10:]


def test_a_join_without_last_event_id_gets_what_is_still_to_come(tmp_path, http):
    """A join with no ``Last-Event-ID`` gets, as both servers send it, the frames still to
    come while the run streams (here: served at its recorded speed), nothing once it ended."""
    frames = [frame("metadata", {"run_id": "r-1"}, at=0.0)]
    frames += [frame("values", {"n": n}, at=0.5 * n, id=str(n)) for n in range(1, 9)]
    save(Cassette([run("t-1", "r-1", frames)]), tmp_path / "slow.json")
    join = "/threads/t-1/runs/r-1/stream"
    streamed: list[bytes] = []
    started = threading.Event()
    with BackgroundServer(replay_app(tmp_path, speed=1.0)) as server:

        def stream_the_run() -> None:
            with http.stream("POST", f"{server.url}/threads/t-1/runs/stream", json=RUN_BODY) as r:
                for chunk in r.iter_bytes():
                    streamed.append(chunk)
                    started.set()

        reader = threading.Thread(target=stream_the_run)
        reader.start()
        assert started.wait(timeout=30)  # the run streams its metadata, then a frame a 0.5 s
        time.sleep(1.0)
        midway = http.get(f"{server.url}{join}")
        reader.join(timeout=30)
        after_the_end = http.get(f"{server.url}{join}")
    assert not reader.is_alive()
    ids = [parse_frame(raw).id for raw in FrameDecoder().feed(b"".join(streamed))]
    assert ids == [None, *map(str, range(1, 9))]
    joined = [parse_frame(raw).id for raw in FrameDecoder().feed(midway.content)]
    assert joined  # the run was still streaming
    assert joined == [str(n) for n in range(int(joined[0]), 9)]  # the stream's own tail
    assert int(joined[0]) >= 3  # not the frames sent before the join (1 and 2 at least)
    assert "joined at" in midway.headers[RECORDING_HEADER]
    assert after_the_end.status_code == 200
    assert after_the_end.content == b""
    assert after_the_end.headers[RECORDING_HEADER] == "slow#0 joined after its end"


def test_a_finished_runs_join_without_last_event_id_is_empty_as_on_the_python_server(
    langgraph_url, tmp_path
):
    """The Python server sends nothing to a join with no ``Last-Event-ID`` once the run is
    over, whatever the stream modes asked; serve answers the same."""
    path = tmp_path / "resumable.json"
    join, _parts = record_a_finished_resumable_run(langgraph_url, path)

    def ask(base: str) -> list[tuple[int, bytes]]:
        with httpx.Client(base_url=base, trust_env=False, timeout=30) as http:
            return [
                (response.status_code, response.content)
                for response in (http.get(join), http.get(join, params={"stream_mode": "values"}))
            ]

    live = ask(langgraph_url)
    with BackgroundServer(replay_app(path, speed=None)) as server:
        served = ask(server.url)
    assert live == [(200, b""), (200, b"")]
    assert served == live
