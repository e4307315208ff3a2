"""``serve`` as a coherent backend: what no recording answers is synthesized from what the
recorded runs streamed (threads, state, history, runs, cancel, assistants, info), with the
ids the client minted."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from streamcassette import (
    Body,
    Cassette,
    Interaction,
    RecordedFrame,
    RecordedRequest,
    RecordedResponse,
    RecordedStream,
    use_cassette,
)
from streamcassette.serve import BackgroundServer, Library, proxy_app, replay_app
from streamcassette.serve._world import RunOutcome

AGENT_MODES = ["messages-tuple", "values"]
QUESTION = "what's the weather in la"
ANSWER = "The weather in Los Angeles is sunny and 72 degrees."


def human(message_id: str) -> dict:
    return {"messages": [{"id": message_id, "type": "human", "content": QUESTION}]}


@pytest.fixture(scope="module")
def runs_only(langgraph_url, tmp_path_factory):
    """Runs recorded through the proxy, with nothing but the runs themselves: the agent on one
    thread and the interrupt graph on another (each created with an id it chose), and a
    stateless agent run."""
    folder = tmp_path_factory.mktemp("runs-only")
    with (
        BackgroundServer(proxy_app(langgraph_url, folder)) as proxy,
        httpx.Client(base_url=proxy.url, trust_env=False, timeout=60) as http,
    ):
        for assistant, run_input in (
            ("agent", human(str(uuid.uuid4()))),
            ("interrupting", {}),
        ):
            thread = str(uuid.uuid4())
            created = http.post("/threads", json={"thread_id": thread})
            assert created.status_code == 200
            body = {"assistant_id": assistant, "input": run_input, "stream_mode": AGENT_MODES}
            with http.stream("POST", f"/threads/{thread}/runs/stream", json=body) as response:
                assert response.status_code == 200
                response.read()
        body = {"assistant_id": "agent", "input": human(str(uuid.uuid4())), "stream_mode": "values"}
        with http.stream("POST", "/runs/stream", json=body) as response:
            assert response.status_code == 200
            response.read()
    return folder


@pytest.fixture
def served(runs_only):
    with (
        BackgroundServer(replay_app(runs_only, speed=None)) as server,
        httpx.Client(base_url=server.url, trust_env=False, timeout=30) as http,
    ):
        yield http


def start_agent(http: httpx.Client, thread: str, message_id: str) -> httpx.Response:
    created = http.post("/threads", json={"thread_id": thread, "metadata": {"demo": 1}})
    assert created.status_code == 200, created.text
    assert created.json()["thread_id"] == thread
    body = {"assistant_id": "agent", "input": human(message_id), "stream_mode": AGENT_MODES}
    return http.post(f"/threads/{thread}/runs/stream", json=body)


def test_client_minted_thread_and_message_ids_come_back_in_frames_and_state(served):
    """A thread id and a message id the client chose are served back in the run's frames and
    in the synthesized state, history, thread and search results."""
    thread, message_id = str(uuid.uuid4()), str(uuid.uuid4())
    run = start_agent(served, thread, message_id)
    assert run.status_code == 200, run.text
    assert message_id in run.text
    state = served.get(f"/threads/{thread}/state")
    assert state.status_code == 200
    assert state.headers["x-streamcassette-recording"] == "synthesized: state"
    messages = state.json()["values"]["messages"]
    assert messages[0]["id"] == message_id
    assert messages[-1]["content"] == ANSWER
    assert state.json()["checkpoint"]["thread_id"] == thread
    history = served.post(f"/threads/{thread}/history", json={"limit": 5}).json()
    assert [h["values"] for h in history] == [state.json()["values"]]
    got = served.get(f"/threads/{thread}").json()
    assert (got["thread_id"], got["status"], got["metadata"]) == (thread, "idle", {})
    assert got["values"]["messages"][0]["id"] == message_id
    found = served.post("/threads/search", json={}).json()
    assert thread in [t["thread_id"] for t in found]


def test_runs_list_get_and_cancel_describe_the_served_run(served):
    """The run served on a thread is listed, can be read by id, and cancelling it is
    accepted and shows in its status."""
    thread = str(uuid.uuid4())
    run = start_agent(served, thread, str(uuid.uuid4()))
    run_id = run.headers["content-location"].rsplit("/", 1)[-1]
    listed = served.get(f"/threads/{thread}/runs").json()
    assert [r["run_id"] for r in listed] == [run_id]
    got = served.get(f"/threads/{thread}/runs/{run_id}")
    assert got.status_code == 200
    assert (got.json()["status"], got.json()["thread_id"]) == ("success", thread)
    cancelled = served.post(f"/threads/{thread}/runs/{run_id}/cancel")
    assert cancelled.status_code == 202
    assert served.get(f"/threads/{thread}/runs/{run_id}").json()["status"] == "interrupted"
    missing = served.get(f"/threads/{thread}/runs/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert "no run" in missing.json()["detail"]


def test_a_pending_interrupt_is_in_the_synthesized_state(served):
    """After the interrupt graph's run, the thread is interrupted and its state carries the
    pending interrupt as a task, as the classic hook reads it after a reload."""
    start_agent(served, str(uuid.uuid4()), str(uuid.uuid4()))  # the recorded order: agent first
    thread = str(uuid.uuid4())
    assert served.post("/threads", json={"thread_id": thread}).status_code == 200
    body = {"assistant_id": "interrupting", "input": {}, "stream_mode": AGENT_MODES}
    assert served.post(f"/threads/{thread}/runs/stream", json=body).status_code == 200
    state = served.get(f"/threads/{thread}/state").json()
    assert state["tasks"][0]["interrupts"][0]["value"] == {"question": "approve?"}
    assert state["interrupts"] == state["tasks"][0]["interrupts"]
    assert served.get(f"/threads/{thread}").json()["status"] == "interrupted"


def test_assistants_and_info_are_synthesized_from_the_recordings(served):
    """Assistant search and get list each recorded graph's default assistant; ``/info``
    gives the recorded server's version; an unknown assistant is a 404 naming the known."""
    found = served.post("/assistants/search", json={}).json()
    graphs = {a["graph_id"]: a["assistant_id"] for a in found}
    assert graphs == {
        "agent": "fe096781-5601-53d2-b2f6-0d3403f7e9ca",
        "interrupting": str(
            uuid.uuid5(uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8"), "interrupting")
        ),
    }
    only = served.post("/assistants/search", json={"graph_id": "agent"}).json()
    assert [a["graph_id"] for a in only] == ["agent"]
    by_name = served.get("/assistants/agent").json()
    assert by_name["assistant_id"] == graphs["agent"]
    assert served.get(f"/assistants/{graphs['agent']}").json() == by_name
    unknown = served.get("/assistants/nope")
    assert unknown.status_code == 404
    assert "'agent'" in unknown.json()["detail"]
    info = served.get("/info").json()
    assert info["version"]
    assert info["flags"]["assistants"] is True


def test_a_thread_never_created_is_explained(served):
    """State of a thread that was neither created nor run on is a 404 saying so."""
    missing = served.get(f"/threads/{uuid.uuid4()}/state")
    assert missing.status_code == 404
    assert "neither created nor run on" in json.loads(missing.text)["detail"]


def test_a_subset_of_the_recorded_stream_modes_gets_the_recording_filtered(served, runs_only):
    """Asking in fewer stream modes than recorded serves the recording filtered to them (and
    the run's metadata); asking in a mode never recorded is still a 404."""
    thread = str(uuid.uuid4())
    assert served.post("/threads", json={"thread_id": thread}).status_code == 200
    body = {"assistant_id": "agent", "input": human(str(uuid.uuid4())), "stream_mode": ["values"]}
    values_only = served.post(f"/threads/{thread}/runs/stream", json=body)
    assert values_only.status_code == 200, values_only.text
    events = [line for line in values_only.text.splitlines() if line.startswith("event: ")]
    assert events[0] == "event: metadata"
    assert set(events[1:]) == {"event: values"}
    recorded = (runs_only / "agent-messages-tuple+values-1.json").read_text()
    assert len(events) - 1 == recorded.count("event: values")
    assert "filtered to ['values']" in values_only.headers["x-streamcassette-recording"]
    body["stream_mode"] = ["values", "updates"]
    assert served.post(f"/threads/{thread}/runs/stream", json=body).status_code == 404


def test_every_stateless_run_may_mint_its_own_message_id(served):
    """Stateless runs share no thread, so each one's fresh message id binds for its own answer:
    two visitors asking the same stateless run each get their own id back."""
    for _ in range(2):
        message_id = str(uuid.uuid4())
        body = {"assistant_id": "agent", "input": human(message_id), "stream_mode": "values"}
        answer = served.post("/runs/stream", json=body)
        assert answer.status_code == 200, answer.text
        assert message_id in answer.text


def test_serve_exposes_to_a_page_the_headers_langgraph_dev_exposes(served, langgraph_url):
    """A page on another origin may read from serve exactly the headers it may read from
    ``langgraph dev`` (Content-Location yes, Location no)."""
    origin = {"origin": "http://127.0.0.1:9"}

    def exposed(response: httpx.Response) -> set[str]:
        listed = response.headers.get("access-control-expose-headers", "")
        return {name.strip().lower() for name in listed.split(",") if name.strip()}

    with httpx.Client(base_url=langgraph_url, trust_env=False, timeout=30) as live:
        expected = exposed(live.post("/threads", json={}, headers=origin))
    got = exposed(served.post("/threads", json={}, headers=origin))
    assert "content-location" in expected
    assert "location" not in expected
    assert got == expected


def recorded_run(*frames: bytes):
    """A library of one recorded run on a thread, streaming ``frames``."""
    request = RecordedRequest(
        "POST",
        "/threads/6f1c1f5e-1d7a-4a59-9a55-0c2d3e4f5a6b/runs/stream",
        body=Body(b'{"assistant_id": "agent", "input": {}}'),
    )
    stream = RecordedStream(frames=[RecordedFrame(0.0, frame) for frame in frames])
    response = RecordedResponse(200, stream=stream)
    library = Library({"run": Cassette(interactions=[Interaction(request, response)])})
    return library.runs[0]


def test_an_interrupt_sent_alone_keeps_the_state_before_it():
    """The server sends an interrupt as a values event of its own: the thread's state stays
    what the previous values event said, with the interrupt pending."""
    outcome = RunOutcome.of(
        recorded_run(
            b'event: metadata\r\ndata: {"run_id": "r1"}\r\n\r\n',
            b'event: values\r\ndata: {"messages": [1]}\r\n\r\n',
            b'event: values|sub:1\r\ndata: {"inner": true}\r\n\r\n',
            b'event: values\r\ndata: {"__interrupt__": [{"value": "ok?", "id": "i1"}]}\r\n\r\n',
        )
    )
    assert outcome.run_id == "r1"
    assert outcome.values == {"messages": [1]}
    assert outcome.interrupts == [{"value": "ok?", "id": "i1"}]
    assert outcome.status == "success"


SLOW_MODES = ["messages-tuple", "values"]


async def _statuses(client: Any, thread_id: str, run_id: str) -> dict[str, Any]:
    """The thread's and the run's status as each read reports it."""
    found = [t for t in await client.threads.search(limit=100) if t["thread_id"] == thread_id]
    return {
        "thread": (await client.threads.get(thread_id))["status"],
        "search": [t["status"] for t in found],
        "runs": [r["status"] for r in await client.runs.list(thread_id)],
        "run": (await client.runs.get(thread_id, run_id))["status"],
    }


async def _run_and_watch(url: str, assistant: str, run_input: Any, watch: bool) -> dict[str, Any]:
    """Create a thread and stream a run on it with the Python SDK; with ``watch``, read the
    statuses at the first answer token and once the stream is over (the server may take a
    moment to file the run's end)."""
    client = get_client(url=url)
    try:
        return await _watch(client, assistant, run_input, watch)
    finally:
        await client.aclose()


async def _watch(client: Any, assistant: str, run_input: Any, watch: bool) -> dict[str, Any]:
    thread_id = (await client.threads.create())["thread_id"]
    seen: dict[str, Any] = {}
    run_id = ""
    async for part in client.runs.stream(
        thread_id, assistant, input=run_input, stream_mode=SLOW_MODES
    ):
        if part.event == "metadata":
            run_id = part.data["run_id"]
        token = part.event == "messages" and part.data[0].get("content") == "The "
        if watch and token and "during" not in seen:
            seen["during"] = await _statuses(client, thread_id, run_id)
    if watch:
        for _ in range(50):
            seen["after"] = await _statuses(client, thread_id, run_id)
            if seen["after"]["thread"] != "busy":
                break
            await asyncio.sleep(0.1)
    return seen


@pytest.mark.parametrize(
    ("assistant", "run_input", "expected"),
    [
        (
            "agent_slow",
            {"messages": [{"role": "user", "content": QUESTION}]},
            {
                "during": {
                    "thread": "busy",
                    "search": ["busy"],
                    "runs": ["running"],
                    "run": "running",
                },
                "after": {
                    "thread": "idle",
                    "search": ["idle"],
                    "runs": ["success"],
                    "run": "success",
                },
            },
        ),
        (
            "interrupting",
            {},
            {
                "after": {
                    "thread": "interrupted",
                    "search": ["interrupted"],
                    "runs": ["success"],
                    "run": "success",
                }
            },
        ),
    ],
    ids=["streaming", "interrupt"],
)
def test_served_thread_is_busy_and_its_run_running_while_it_streams(
    langgraph_url, tmp_path, assistant, run_input, expected
):
    """Read through the Python SDK, a served run's thread is busy and the run running while
    it streams at speed 1, then idle and success (interrupted and success at an interrupt),
    as the live server reports them; the recording holds no status read."""
    live = asyncio.run(_run_and_watch(langgraph_url, assistant, run_input, watch=True))
    path = tmp_path / "run.json"
    with use_cassette(path, mode="record"):
        asyncio.run(_run_and_watch(langgraph_url, assistant, run_input, watch=False))
    with BackgroundServer(replay_app(path, speed=1.0)) as server:
        replayed = asyncio.run(_run_and_watch(server.url, assistant, run_input, watch=True))
    assert live == expected
    assert replayed == expected
