"""``streamcassette record`` fails in one paragraph, by subprocess: exit codes, no
traceback, the server's own detail, and an existing cassette kept."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest
from langgraph_sdk import get_sync_client

from streamcassette import load, save
from streamcassette._cassette import (
    Cassette,
    Interaction,
    RecordedFrame,
    RecordedRequest,
    RecordedResponse,
    RecordedStream,
)

CLI = [sys.executable, "-m", "streamcassette.cli"]
BUNDLED_AGENT = Path(__file__).resolve().parent.parent / "cassettes" / "weather_agent.json"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI run to its end, its output captured."""
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def record(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return cli("record", *args, cwd=cwd)


def start_cli(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    """The CLI in the background, its output unbuffered, for the Ctrl-C tests."""
    return subprocess.Popen(
        [*CLI, *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def start_record(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return start_cli("record", *args, cwd=cwd)


def interrupt_after(process: subprocess.Popen[str], marker: str) -> tuple[str, str]:
    """Ctrl-C once a printed line holds ``marker``; the output, checked to hold no
    traceback."""
    assert process.stdout is not None
    for line in process.stdout:
        if marker in line:
            break
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert "Traceback" not in out + err
    return out, err


def cancelled_status(url: str, err: str) -> str:
    """The server's status of the run the interrupted ``record`` names in ``err``."""
    run_id = err.split("run ", 1)[1].split()[0]
    client = get_sync_client(url=url)
    try:
        runs = client.runs.list(_thread_of(client, run_id))
    finally:
        client.close()
    return str(next(run["status"] for run in runs if run["run_id"] == run_id))


def assert_clean(result: subprocess.CompletedProcess[str]) -> str:
    """The output as one string, checked to hold no traceback."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    return output


def test_main_module_runs() -> None:
    """``python -m streamcassette.cli`` is the CLI (the tests below drive it that way)."""
    result = cli("--help")
    assert result.returncode == 0
    assert "record" in result.stdout


def test_unreachable_server_fails_after_one_attempt(
    tmp_path: Path, counting_listener: tuple[str, list[int]]
) -> None:
    """A server that drops every connection gets one probe, not a retry storm: exit 1, the
    URL and the fix, no traceback, no file."""
    url, connections = counting_listener
    result = record(url, "agent", "-o", "out.json", cwd=tmp_path)
    output = assert_clean(result)
    assert result.returncode == 1
    assert f"cannot reach the LangGraph server at {url}" in output
    assert "langgraph dev" in output
    assert connections[0] <= 2  # the probe (httpx may retry a refused keep-alive once)
    assert not (tmp_path / "out.json").exists()


def test_nothing_listening_fails_cleanly(tmp_path: Path) -> None:
    """A port nothing listens on: exit 1, one paragraph naming the URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = record(f"http://127.0.0.1:{port}", "agent", cwd=tmp_path)
    output = assert_clean(result)
    assert result.returncode == 1
    assert f"http://127.0.0.1:{port}" in output
    assert "ConnectError" in output


@pytest.mark.parametrize(
    ("args", "status", "detail"),
    [
        (["no-such-graph"], "422", "no-such-graph"),
        (["joke", "--mode", "no-such-mode"], "422", "no-such-mode"),
        (["joke", "--thread-id", "00000000-0000-0000-0000-000000000000"], "404", "Thread"),
    ],
    ids=["unknown-assistant", "bad-stream-mode", "missing-thread"],
)
def test_http_errors_give_the_servers_detail(
    tmp_path: Path, langgraph_url: str, args: list[str], status: str, detail: str
) -> None:
    """An HTTP error exits 1 with the status and the server's own detail, and writes
    nothing."""
    result = record(langgraph_url, *args, "--input", '{"topic": "x"}', "-o", "c.json", cwd=tmp_path)
    output = assert_clean(result)
    assert result.returncode == 1, output
    assert f"with {status}" in output
    assert detail in output
    assert "Nothing was written" in output
    assert not (tmp_path / "c.json").exists()


def test_run_ending_in_error_event_exits_1_unless_allowed(
    tmp_path: Path, langgraph_url: str
) -> None:
    """``event: error`` exits 1 and writes nothing; with --allow-error it is recorded."""
    result = record(langgraph_url, "failing", "--input", "{}", "-o", "f.json", cwd=tmp_path)
    output = assert_clean(result)
    assert result.returncode == 1
    assert "event: error" in output
    assert "boom" in output
    assert not (tmp_path / "f.json").exists()
    allowed = record(
        langgraph_url, "failing", "--input", "{}", "-o", "f.json", "--allow-error", cwd=tmp_path
    )
    assert allowed.returncode == 0, assert_clean(allowed)
    assert any(
        frame.raw.startswith(b"event: error")
        for frame in load(tmp_path / "f.json").interactions[-1].response.stream.frames  # type: ignore[union-attr]
    )


def test_existing_cassette_is_kept_unless_forced(tmp_path: Path, langgraph_url: str) -> None:
    """A second record to the same file exits 2 and keeps it; --force records over it."""
    args = ["joke", "--input", '{"topic": "ice cream"}', "-o", "j.json", "--quiet"]
    assert record(langgraph_url, *args, cwd=tmp_path).returncode == 0
    before = (tmp_path / "j.json").read_bytes()
    again = record(langgraph_url, *args, cwd=tmp_path)
    output = assert_clean(again)
    assert again.returncode == 2
    assert "--force" in output
    assert (tmp_path / "j.json").read_bytes() == before
    forced = record(langgraph_url, *args, "--force", cwd=tmp_path)
    assert forced.returncode == 0, assert_clean(forced)
    assert (tmp_path / "j.json").read_bytes() != before  # new ids, new times


@pytest.mark.parametrize(
    ("mode", "code", "rewritten"),
    [("all", 0, True), ("missing", 0, False), ("once", 2, False), ("none", 2, False)],
)
def test_record_mode_setting_is_honoured(
    tmp_path: Path, langgraph_url: str, mode: str, code: int, rewritten: bool
) -> None:
    """``record-mode`` in [tool.streamcassette] decides what happens to an existing cassette."""
    (tmp_path / "pyproject.toml").write_text(f'[tool.streamcassette]\nrecord-mode = "{mode}"\n')
    (tmp_path / "j.json").write_text("placeholder")
    result = record(
        langgraph_url, "joke", "--input", '{"topic": "x"}', "-o", "j.json", "--quiet", cwd=tmp_path
    )
    assert_clean(result)
    assert result.returncode == code
    assert ((tmp_path / "j.json").read_text() != "placeholder") is rewritten


def test_invalid_record_mode_is_refused(tmp_path: Path) -> None:
    """``record-mode = "banana"`` is a settings error naming the file and the choices."""
    (tmp_path / "pyproject.toml").write_text('[tool.streamcassette]\nrecord-mode = "banana"\n')
    result = record("http://127.0.0.1:9", "joke", cwd=tmp_path)
    output = assert_clean(result)
    assert result.returncode == 2
    assert "banana" in output
    assert "'once', 'all', 'none', 'missing'" in output
    assert "pyproject.toml" in output


def test_ctrl_c_cancels_the_run_on_the_server(tmp_path: Path, langgraph_url: str) -> None:
    """Ctrl-C during a run cancels it on the server and says the old cassette was kept."""
    (tmp_path / "s.json").write_text("old")
    process = start_record(
        langgraph_url, "slow", "--input", "{}", "-o", "s.json", "--force", cwd=tmp_path
    )
    _, err = interrupt_after(process, "Receiving new event of type: metadata")  # the first
    assert process.returncode == 130
    assert "was cancelled on the server" in err
    assert "the existing s.json was kept" in err
    assert (tmp_path / "s.json").read_text() == "old"
    # "interrupt" cancels end interrupted
    assert cancelled_status(langgraph_url, err) in ("interrupted", "error")


def test_ctrl_c_cancels_a_stateless_run_on_the_server(tmp_path: Path, langgraph_url: str) -> None:
    """A stateless run's temporary thread is named by no event or header; Ctrl-C still finds
    and cancels the run, which would otherwise wait on its gate for 30 s."""
    gate = tmp_path / "gate"  # never opened while the test looks: only a cancel ends the run
    run_input = json.dumps({"gate": str(gate)})
    process = start_record(
        langgraph_url, "gated", "--stateless", "--input", run_input, "--quiet", cwd=tmp_path
    )
    client = get_sync_client(url=langgraph_url)
    try:
        thread_id = _wait_for_busy_gated_thread(client, process)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        assert "Traceback" not in out + err
        assert process.returncode == 130
        assert "was cancelled on the server" in err, err
        assert "nothing was written" in err.lower()
        assert not list(tmp_path.glob("cassettes/*.json"))
        still_busy = client.threads.search(status="busy", limit=100)
        assert thread_id not in {thread["thread_id"] for thread in still_busy}
    finally:
        gate.touch()  # lets the node's worker thread end
        client.close()
        if process.poll() is None:
            process.kill()
            process.wait()


def _wait_for_busy_gated_thread(client: object, process: subprocess.Popen[str]) -> str:
    """The temporary thread of the stateless `gated` run the process started."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for thread in client.threads.search(status="busy", limit=100):  # type: ignore[attr-defined]
            if thread["metadata"].get("graph_id") == "gated":
                return str(thread["thread_id"])
        time.sleep(0.05)
    raise AssertionError("the stateless run never showed up as a busy thread")


def _thread_of(client: object, run_id: str) -> str:
    threads = client.threads.search(limit=100)  # type: ignore[attr-defined]
    for thread in threads:
        for run in client.runs.list(thread["thread_id"]):  # type: ignore[attr-defined]
            if run["run_id"] == run_id:
                return str(thread["thread_id"])
    raise AssertionError(f"no thread has run {run_id}")


@pytest.mark.parametrize("command", ["show", "play", "mask", "diff", "serve"])
def test_unreadable_cassette_exits_2_everywhere(tmp_path: Path, command: str) -> None:
    """A cassette that is not JSON gives exit 2 and a one-line error from every reader."""
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    args = [str(bad), str(bad)] if command == "diff" else [str(bad)]
    result = cli(command, *args, cwd=tmp_path)
    output = assert_clean(result)
    assert result.returncode == 2, output
    assert "not valid JSON" in output
    assert str(bad) in output


class _DroppingHandler(http.server.BaseHTTPRequestHandler):
    """A LangGraph-shaped server whose run stream breaks after one event."""

    protocol_version = "HTTP/1.1"
    requests_seen: ClassVar[list[str]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _json(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.requests_seen.append(f"GET {self.path}")
        self._json(b'{"ok":true}')

    def do_POST(self) -> None:
        self.requests_seen.append(f"POST {self.path}")
        self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/threads":
            self._json(b'{"thread_id":"t-1"}')
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("location", "/threads/t-1/runs/r-1/stream")
        self.send_header("content-location", "/threads/t-1/runs/r-1")
        self.end_headers()
        frame = b'event: metadata\r\ndata: {"run_id":"r-1"}\r\n\r\n'
        self.wfile.write(b"%x\r\n%s\r\n" % (len(frame), frame))
        self.wfile.flush()
        self.close_connection = True  # no last chunk: the stream breaks here


def test_dropped_stream_says_what_was_kept_without_reconnecting(tmp_path: Path) -> None:
    """A stream that breaks mid-run exits 1 at once, says how many events arrived and that
    nothing was written; the SDK's reconnects are not sent. --allow-error saves it as
    dropped."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DroppingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        result = record(url, "agent", "--input", "{}", "-o", "d.json", cwd=tmp_path)
        seen = list(_DroppingHandler.requests_seen)
        allowed = record(
            url, "agent", "--input", "{}", "-o", "d.json", "--allow-error", cwd=tmp_path
        )
    finally:
        server.shutdown()
        server.server_close()
    output = assert_clean(result)
    assert result.returncode == 1
    assert "the stream dropped after 1 events" in output
    assert "Nothing was written" in output
    assert seen == ["GET /ok", "POST /threads", "POST /threads/t-1/runs/stream"]
    assert allowed.returncode == 0, assert_clean(allowed)
    (_, stream), *_ = load(tmp_path / "d.json").streams()
    assert stream.response.stream.end.value == "dropped"  # type: ignore[union-attr]


def test_play_of_a_stream_that_cannot_replay_is_one_paragraph(tmp_path: Path) -> None:
    """A cassette that loads but whose stream the SDK refuses (no content type) stops
    playback with exit 1 and the reason, not a traceback."""
    stream = RecordedStream(frames=[RecordedFrame(0.0, b"event: updates\ndata: {}\n\n")])
    interaction = Interaction(
        RecordedRequest("POST", "/runs/stream"), RecordedResponse(200, stream=stream)
    )
    path = save(Cassette(interactions=[interaction]), tmp_path / "odd.json")
    result = cli("play", "--instant", str(path))
    output = assert_clean(result)
    assert result.returncode == 1
    assert f"{path}: playback stopped: TransportError" in output


def _deep_frame_cassette(tmp_path: Path, depth: int) -> Path:
    data = "[" * depth + "]" * depth
    frames = [
        RecordedFrame(0.0, b"event: metadata\ndata: {}\n\n"),
        RecordedFrame(0.0, f"event: updates\ndata: {data}\n\n".encode()),
    ]
    stream = RecordedStream(frames=frames)
    headers = [("content-type", "text/event-stream")]
    interaction = Interaction(
        RecordedRequest("POST", "/runs/stream"), RecordedResponse(200, headers, stream=stream)
    )
    return save(Cassette(interactions=[interaction]), tmp_path / f"deep-{depth}.json")


def test_play_of_frames_nested_too_deep_is_clean(tmp_path: Path) -> None:
    """A frame nested 990 levels deep plays with a placeholder; one nested past what the
    SDK's JSON parser reads stops playback with exit 1 and the reason: no traceback."""
    printable = cli("play", "--instant", str(_deep_frame_cassette(tmp_path, 990)))
    assert assert_clean(printable)
    assert printable.returncode == 0
    assert "<a list nested too deep to print>" in printable.stdout
    unreadable = cli("play", "--instant", str(_deep_frame_cassette(tmp_path, 3000)))
    output = assert_clean(unreadable)
    assert unreadable.returncode == 1
    assert "playback stopped: a frame's data is not JSON the SDK can read" in output


def test_ctrl_c_in_play_exits_130(tmp_path: Path) -> None:
    """Ctrl-C while the bundled agent plays in real time: exit 130, one line, no Aborted!."""
    process = start_cli("play")
    assert process.stdout is not None
    process.stdout.readline()  # the first event is out: playback is under way
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert "Traceback" not in out + err
    assert "Aborted" not in err
    assert process.returncode == 130
    assert "playback interrupted" in err


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0"])
@pytest.mark.parametrize("command", ["serve", "proxy"])
def test_max_body_must_be_a_positive_finite_size(tmp_path: Path, command: str, value: str) -> None:
    """--max-body-mib refuses what it cannot use, naming the option: exit 2."""
    target = [str(BUNDLED_AGENT)] if command == "serve" else ["--upstream", "http://127.0.0.1:9"]
    result = cli(command, *target, "--port", "0", "--max-body-mib", value, cwd=tmp_path)
    output = assert_clean(result)
    assert result.returncode == 2
    assert "--max-body-mib" in output
