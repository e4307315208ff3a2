"""``streamcassette proxy``: pass everything through to a real server, record a cassette per run."""

from __future__ import annotations

import json
import threading

import anyio
import httpx
import pytest
from jsclient import cli, curl, run_js, sdk_part, stop
from langgraph_sdk import get_client

from streamcassette import FrameDecoder, load
from streamcassette.devserver import free_port
from streamcassette.serve import BackgroundServer, proxy_app, replay_app

JOKE = {"input": {"topic": "ice cream"}, "streamMode": ["values", "updates"]}
SUBGRAPH = {"input": {"foo": "x"}, "streamMode": ["updates"], "streamSubgraphs": True}
JS_PLAN = [
    {"op": "searchAssistants"},
    {"op": "createThread"},
    {"op": "stream", "assistant": "joke", "payload": JOKE},
    {"op": "getState"},
    {"op": "stream", "stateless": True, "assistant": "subgraph", "payload": SUBGRAPH},
]


@pytest.fixture
def http():
    """A plain httpx client for loopback (no proxies from the environment)."""
    with httpx.Client(trust_env=False, timeout=30) as client:
        yield client


# --- live: real clients through the proxy to the real server -----------------------------


def test_js_sdk_recorded_through_the_proxy_replays_in_the_python_sdk(langgraph_url, tmp_path):
    """The JS SDK records through the proxy; `serve` gives the Python SDK the same parts."""
    with BackgroundServer(proxy_app(langgraph_url, tmp_path)) as proxy:
        js = run_js(proxy.url, JS_PLAN)
    # One cassette per run, named after the assistant and modes, holding what led to it.
    names = sorted(path.name for path in tmp_path.glob("*.json"))
    assert names == ["joke-updates+values-1.json", "subgraph-updates-1.json"]
    joke = load(tmp_path / "joke-updates+values-1.json")
    thread_id = js[1]["result"]["thread_id"]
    run_id = js[2]["parts"][0]["data"]["run_id"]
    assert [i.request.describe() for i in joke.interactions] == [
        "POST /assistants/search",
        "POST /threads",
        f"POST /threads/{thread_id}/runs/stream",
        f"GET /threads/{thread_id}/runs/{run_id}",  # JS SDK 1.x fetches the run, as Python does
        f"GET /threads/{thread_id}/state",
    ]
    assert joke.provenance["recorded_by"] == "streamcassette proxy"
    assert "version" in joke.provenance["server"]

    async def python_sdk(url: str) -> tuple[dict, list]:
        async with get_client(url=url, api_key=None) as client:
            assistants = await client.assistants.search()
            thread = await client.threads.create()
            stream = [
                sdk_part(part)
                async for part in client.runs.stream(
                    thread["thread_id"],
                    "joke",
                    input={"topic": "ice cream"},
                    stream_mode=["values", "updates"],
                )
            ]
            state = await client.threads.get_state(thread["thread_id"])
            stateless = [
                sdk_part(part)
                async for part in client.runs.stream(
                    None,
                    "subgraph",
                    input={"foo": "x"},
                    stream_mode="updates",
                    stream_subgraphs=True,
                )
            ]
        return {
            "assistants": assistants,
            "thread": thread,
            "stream": stream,
            "state": state,
        }, stateless

    with BackgroundServer(replay_app(tmp_path, speed=None)) as server:
        python, stateless = anyio.run(python_sdk, server.url)
    assert python["assistants"] == js[0]["result"]
    assert python["thread"] == js[1]["result"]
    assert python["stream"] == js[2]["parts"]
    assert python["state"] == js[3]["result"]
    assert stateless == js[4]["parts"]
    assert any("|" in part["event"] for part in stateless)


def test_stream_chunks_reach_the_client_before_the_run_ends(langgraph_url, tmp_path, http):
    """The first update comes through while the run still waits on its gate; all is recorded."""
    gate = tmp_path / "gate"
    body = {"assistant_id": "gated", "input": {"gate": str(gate)}, "stream_mode": ["updates"]}
    received: list[bytes] = []
    with (
        BackgroundServer(proxy_app(langgraph_url, tmp_path / "out")) as proxy,
        http.stream("POST", f"{proxy.url}/runs/stream", json=body) as response,
    ):
        chunks = response.iter_raw()
        decoder = FrameDecoder()
        for chunk in chunks:
            received.append(chunk)
            if any(b'"first"' in frame for frame in decoder.feed(chunk)):
                break
        # The run cannot finish before the gate exists, so this update was passed on live.
        assert not gate.exists()
        gate.touch()
        received.extend(chunks)
    recorded = load(tmp_path / "out" / "gated-updates-1.json")
    stream = next(interaction for _, interaction in recorded.streams()).response.stream
    assert b'"second"' in b"".join(received)
    assert stream.raw == b"".join(received)


def test_the_cli_proxy_records_what_curl_gets_and_redacts_its_key(langgraph_url, tmp_path):
    """`streamcassette proxy` (a real process): curl's bytes are recorded, its API key, the
    run config's key (echoed by debug frames) and a --redact-key key are not."""
    out = tmp_path / "out"
    configurable = {"openai_api_key": "sk-proxy-secret", "tenant_code": "tenant-secret"}
    body = json.dumps(
        {
            "assistant_id": "joke",
            "input": {"topic": "cats"},
            "config": {"configurable": configurable},
            "stream_mode": ["updates", "debug"],
        }
    )
    command = ("proxy", "--upstream", langgraph_url, "-o", str(out), "--redact-key", "tenant_code")
    with cli(*command) as (url, process):
        received = curl(
            "-N",
            "-X",
            "POST",
            f"{url}/runs/stream",
            "-H",
            "content-type: application/json",
            "-H",
            "x-api-key: lsv2-live-secret",
            "--data-binary",
            body,
        )
        code = stop(process)
        printed = process.stdout.read()
    assert code == 0
    path = out / "joke-debug+updates-1.json"
    assert f"recording {path}" in printed
    recorded = load(path)
    stream = next(interaction for _, interaction in recorded.streams())
    assert b"event: updates" in received
    recorded_config = stream.request.body.json()["config"]["configurable"]
    assert recorded_config == {"openai_api_key": "<redacted>", "tenant_code": "<redacted>"}
    for written in out.iterdir():
        for secret in (b"lsv2-live-secret", b"sk-proxy-secret", b"tenant-secret"):
            assert secret not in written.read_bytes()
    # Frames without a secret are recorded byte for byte; the others are redacted.
    decoder = FrameDecoder()
    sent = decoder.feed(received) + decoder.flush()[0]
    recorded_frames = [frame.raw for frame in stream.response.stream.frames]
    assert [raw for raw in recorded_frames if b"<redacted>" not in raw] == [
        raw for raw in sent if b"secret" not in raw
    ]
    assert len(recorded_frames) == len(sent)
    assert stream.request.header("x-api-key") == "<redacted>"


# --- offline: a fake upstream shows what is forwarded and how runs are grouped -------------

SSE = "text/event-stream; charset=utf-8"


class FakeServer:
    """A small LangGraph-shaped upstream that notes every request it gets."""

    def __init__(self) -> None:
        self.seen: list[httpx.Request] = []
        self.runs = 0
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        method, path = request.method, request.url.path
        if method == "POST" and path == "/threads":
            return httpx.Response(200, json={"thread_id": "t-1", "status": "idle"})
        if method == "POST" and path.endswith("/runs/stream"):
            with self.lock:
                self.runs += 1
                run_id = f"r-{self.runs}"
            location = f"{path.removesuffix('/runs/stream')}/runs/{run_id}"
            frames = (
                f"event: metadata\r\ndata: {json.dumps({'run_id': run_id})}\r\n\r\n"
                'event: values\r\ndata: {"n": 1}\r\n\r\n'
            )
            headers = {
                "content-type": SSE,
                "location": f"{location}/stream",
                "content-location": location,
            }
            return httpx.Response(200, headers=headers, content=frames.encode())
        if method == "GET" and path.startswith("/threads/t-1"):
            return httpx.Response(200, json={"path": path, "runs": self.runs})
        if path in ("/info", "/assistants/search"):
            return httpx.Response(200, json={"path": path})
        return httpx.Response(404, json={"detail": "Not Found"})


RUN = {"assistant_id": "joke", "input": {"topic": "cats"}, "stream_mode": ["values"]}


def test_each_run_gets_its_own_cassette_with_what_led_to_it(tmp_path, http):
    """Requests go into the cassette of the run they belong to; names never overwrite a file."""
    existing = tmp_path / "joke-values-1.json"
    existing.write_text("not mine")
    fake = FakeServer()
    app = proxy_app("http://upstream.invalid", tmp_path, transport=httpx.MockTransport(fake))
    with BackgroundServer(app) as proxy:
        url = proxy.url
        http.post(f"{url}/assistants/search", json={})
        http.post(f"{url}/threads", json={})
        http.get(f"{url}/threads/t-1/state")
        http.post(f"{url}/threads/t-1/runs/stream", json=RUN)
        http.get(f"{url}/threads/t-1/runs/r-1")
        http.get(f"{url}/threads/t-1/state")
        http.post(f"{url}/threads/t-1/runs/stream", json=RUN)
        http.get(f"{url}/threads/t-1/state")
        http.post(
            f"{url}/runs/stream", json={**RUN, "assistant_id": "sub", "stream_mode": "updates"}
        )
        http.get(f"{url}/info")  # never followed by a run
    files = {path.name: path for path in tmp_path.glob("*.json")}
    assert sorted(files) == [
        "joke-values-1.json",
        "joke-values-2.json",
        "joke-values-3.json",
        "requests-1.json",
        "sub-updates-1.json",
    ]
    assert existing.read_text() == "not mine"

    def requests(name: str) -> list[str]:
        return [i.request.describe() for i in load(files[name]).interactions]

    assert requests("joke-values-2.json") == [
        "POST /assistants/search",
        "POST /threads",
        "GET /threads/t-1/state",
        "POST /threads/t-1/runs/stream",
        "GET /threads/t-1/runs/r-1",
        "GET /threads/t-1/state",
    ]
    assert requests("joke-values-3.json") == [
        "POST /threads/t-1/runs/stream",
        "GET /threads/t-1/state",
    ]
    assert requests("sub-updates-1.json") == ["POST /runs/stream"]
    assert requests("requests-1.json") == ["GET /info"]
    # The state read after the second run is the one the server gave after it.
    state = load(files["joke-values-3.json"]).interactions[1].response.body.json()
    assert state["runs"] == 2


def test_secrets_reach_the_server_but_not_the_cassette(tmp_path, http):
    """API keys, Authorization, cookies and --redact names go upstream, redacted in the file."""
    fake = FakeServer()
    app = proxy_app(
        "http://upstream.invalid",
        tmp_path,
        redact=["x-tenant-token"],
        transport=httpx.MockTransport(fake),
    )
    secrets = {
        "x-api-key": "lsv2-key-1",
        "authorization": "Bearer tok-2",
        "cookie": "session=cookie-3",
        "x-tenant-token": "tenant-4",
    }
    with BackgroundServer(app) as proxy:
        response = http.post(f"{proxy.url}/runs/stream?api_key=query-5", json=RUN, headers=secrets)
    assert response.status_code == 200
    (forwarded,) = [request for request in fake.seen if request.url.path == "/runs/stream"]
    for name, value in secrets.items():
        assert forwarded.headers[name] == value
    assert forwarded.url.params["api_key"] == "query-5"
    text = (tmp_path / "joke-values-1.json").read_text()
    for value in [*secrets.values(), "query-5", "tok-2", "cookie-3"]:
        assert value not in text
    assert text.count("<redacted>") == 5


def test_an_unreachable_upstream_is_a_502_that_says_so(tmp_path, http):
    """With nothing listening upstream, the client gets a 502 naming the upstream URL."""
    upstream = f"http://127.0.0.1:{free_port()}"
    with BackgroundServer(proxy_app(upstream, tmp_path)) as proxy:
        response = http.get(f"{proxy.url}/assistants/search")
    assert response.status_code == 502
    detail = response.json()["detail"]
    assert f"is the server at {upstream} running?" in detail
    assert "ConnectError" in detail
    assert list(tmp_path.iterdir()) == []
