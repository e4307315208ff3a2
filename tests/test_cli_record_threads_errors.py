"""``streamcassette record --protocol threads`` is as honest as the runs protocol, by
subprocess against a real ``langgraph dev``: exit codes, one paragraph, no traceback, nothing
written for a run that did not record, nothing left running or orphaned on the server."""

from __future__ import annotations

import json
import re
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path
from threading import Event

import pytest
from cutting_relay import CuttingRelay, _close, _recv, _send
from langgraph_sdk import get_sync_client
from langgraph_sdk.errors import NotFoundError
from test_cli_record_errors import (
    _wait_for_busy_gated_thread,
    assert_clean,
    cancelled_status,
    interrupt_after,
    record,
    start_record,
)

from streamcassette import load
from streamcassette.devserver import LangGraphDevServer
from streamcassette.protocols import threads

THREADS = ("--protocol", "threads")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _thread_exists(url: str, thread_id: str) -> bool:
    client = get_sync_client(url=url)
    try:
        client.threads.get(thread_id)
    except NotFoundError:
        return False
    finally:
        client.close()
    return True


def _recorded_thread(path: Path) -> str:
    """The thread a recorded v3 session ran on, from its ``/commands`` request."""
    for interaction in load(path).interactions:
        thread_id = threads.thread_id_of(interaction.request.path)
        if thread_id is not None:
            return thread_id
    raise AssertionError(f"{path} holds no thread request")


def test_failed_run_exits_1_unless_allowed(tmp_path: Path, langgraph_url: str) -> None:
    """A v3 run that ends ``failed`` exits 1 with its error and writes nothing; with
    --allow-error it is recorded, failure and all."""
    args = ["failing", *THREADS, "--input", "{}", "-o", "f.json"]
    result = record(langgraph_url, *args, cwd=tmp_path)
    output = assert_clean(result)
    assert result.returncode == 1, output
    assert "a `failed` lifecycle event after 2 events: boom" in output
    assert "--allow-error" in output
    assert "recorded" not in output
    assert not (tmp_path / "f.json").exists()

    allowed = record(langgraph_url, *args, "--allow-error", cwd=tmp_path)
    assert allowed.returncode == 0, assert_clean(allowed)
    assert b"boom" in (tmp_path / "f.json").read_bytes()


@pytest.mark.parametrize("transport", ["sse", "ws"])
def test_refused_run_start_is_one_paragraph_and_leaves_no_thread(
    tmp_path: Path, langgraph_url: str, transport: str
) -> None:
    """An unknown assistant: exit 1, the server's own detail in one paragraph, nothing
    written, and no thread left on the server under the id the SDK minted."""
    result = record(
        langgraph_url, "nosuch", *THREADS, "--transport", transport, "-o", "n.json", cwd=tmp_path
    )
    output = assert_clean(result)
    assert result.returncode == 1, output
    assert "refused `run.start`" in output
    assert "Invalid assistant: 'nosuch'" in output
    assert "Nothing was written; n.json was not created." in output
    assert "\n" not in result.stderr.strip()  # one paragraph, though the detail has lines
    assert not (tmp_path / "n.json").exists()
    thread_id = UUID.search(output)
    assert thread_id is not None, output
    assert not _thread_exists(langgraph_url, thread_id.group())


def test_runs_protocol_deletes_the_thread_it_created_for_a_refused_run(
    tmp_path: Path, langgraph_url: str
) -> None:
    """The runs protocol creates a thread before the 422 for an unknown assistant; it is
    deleted, and the message says so."""
    result = record(langgraph_url, "nosuch", "--input", "{}", "-o", "n.json", cwd=tmp_path)
    output = assert_clean(result)
    assert result.returncode == 1, output
    assert "\n" not in result.stderr.strip()  # one paragraph, though the detail has lines
    match = re.search(rf"The thread ({UUID.pattern}) created for the run was deleted", output)
    assert match is not None, output
    assert not _thread_exists(langgraph_url, match.group(1))


def test_runs_protocol_keeps_a_thread_it_did_not_create(tmp_path: Path, langgraph_url: str) -> None:
    """A refused run on the user's own ``--thread-id`` leaves that thread alone."""
    client = get_sync_client(url=langgraph_url)
    try:
        thread_id = client.threads.create()["thread_id"]
    finally:
        client.close()
    result = record(langgraph_url, "nosuch", "--thread-id", thread_id, "-o", "n.json", cwd=tmp_path)
    output = assert_clean(result)
    assert result.returncode == 1, output
    assert "was deleted" not in output
    assert _thread_exists(langgraph_url, thread_id)


@pytest.mark.parametrize("transport", ["sse", "ws"])
def test_ctrl_c_cancels_the_thread_run_on_the_server(
    tmp_path: Path, langgraph_url: str, transport: str
) -> None:
    """Ctrl-C during a v3 run parked on its gate exits 130, cancels the run on the server
    (``runs.cancel``: the protocol has no cancel command) and keeps the old cassette."""
    gate = tmp_path / "gate"  # never opened while the test looks: only a cancel ends the run
    (tmp_path / "g.json").write_text("old")
    process = start_record(
        langgraph_url, "gated", *THREADS, "--transport", transport,
        "--input", json.dumps({"gate": str(gate)}), "-o", "g.json", "--force", cwd=tmp_path,
    )  # fmt: skip
    try:
        # the first node is done: the run waits on its gate
        _, err = interrupt_after(process, "'first': 'done'")
        assert process.returncode == 130, err
        assert "was cancelled on the server" in err, err
        assert "the existing g.json was kept" in err
        assert (tmp_path / "g.json").read_text() == "old"
        assert cancelled_status(langgraph_url, err) in ("interrupted", "error")
    finally:
        gate.touch()  # lets the node's worker thread end
        if process.poll() is None:
            process.kill()
            process.wait()


class _HoldingRelay(CuttingRelay):
    """Relays to the real server but never passes on the response to the matching
    request: the server does the work, the client waits for its answer."""

    def _responses(self, upstream: socket.socket, client: socket.socket, cut: Event) -> None:
        while data := _recv(upstream):
            if not cut.is_set() and not _send(client, data):
                break
        _close(client)


def test_ctrl_c_while_run_start_is_unanswered_still_cancels_the_run(
    tmp_path: Path, langgraph_server: LangGraphDevServer
) -> None:
    """Ctrl-C before the ``run.start`` reply names the run: the run the server did start on
    the thread made for it is found and cancelled, not reported as never started."""
    gate = tmp_path / "gate"  # never opened while the test looks: only a cancel ends the run
    relay = _HoldingRelay(
        langgraph_server.port, cut_request=lambda seen: b'"run.start"' in seen, after_frames=0
    )
    relay.start()
    run_input = json.dumps({"gate": str(gate)})
    process = start_record(relay.url, "gated", *THREADS, "--input", run_input, cwd=tmp_path)
    client = get_sync_client(url=langgraph_server.url)
    try:
        thread_id = _wait_for_busy_gated_thread(client, process)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        assert "Traceback" not in out + err
        assert process.returncode == 130, err
        assert "was cancelled on the server" in err, err
        assert client.threads.get(thread_id)["status"] != "busy"
    finally:
        gate.touch()  # lets the node's worker thread end
        client.close()
        relay.close()
        if process.poll() is None:
            process.kill()
            process.wait()


class _DelayingRelay(CuttingRelay):
    """Relays to the real server, but holds back the rest of the matching request until
    ``release`` is set, as a slow network would: the client may give up before the server
    has it. ``held`` is set once it holds it; ``listed`` once a later connection asks the
    server for a thread's runs (the interrupted CLI looking for the run)."""

    def __init__(self, upstream_port: int, cut_request: Callable[[bytes], bool]) -> None:
        super().__init__(upstream_port, cut_request, after_frames=0)
        self.held, self.listed, self.release = Event(), Event(), Event()
        self.held_request = b""

    def _requests(self, client: socket.socket, upstream: socket.socket, cut: Event) -> None:
        seen = b""
        while data := _recv(client):
            seen += data
            if self.held.is_set() and re.search(rb"^GET /threads/[^ ]+/runs", seen, re.M):
                self.listed.set()
            with self._lock:
                hold = self._armed and self.cut_request(seen)
                if hold:
                    self._armed = False
            if hold:
                self.held_request = seen
                self.held.set()
                self.release.wait(timeout=60)
            if not _send(upstream, data):
                break
        # the client is gone: the request it sent still reaches the server, which answers it


@pytest.mark.parametrize(
    ("protocol", "starts_the_run"),
    [(THREADS, b'"run.start"'), ((), b"/runs/stream HTTP/1.1")],
    ids=["threads", "runs"],
)
def test_ctrl_c_before_the_server_has_the_start_request_still_cancels_the_run(
    tmp_path: Path,
    langgraph_server: LangGraphDevServer,
    protocol: tuple[str, ...],
    starts_the_run: bytes,
) -> None:
    """Ctrl-C while the request that starts the run (``run.start``, or the runs stream) is
    still on its way: the server has no run yet when the interrupted CLI first looks, and
    starts it right after. The CLI keeps looking for a while, finds it and cancels it: no
    run is left going on without a client."""
    gate = tmp_path / "gate"  # never opened while the test looks: only a cancel ends the run
    relay = _DelayingRelay(langgraph_server.port, cut_request=lambda seen: starts_the_run in seen)
    relay.start()
    run_input = json.dumps({"gate": str(gate)})
    process = start_record(relay.url, "gated", *protocol, "--input", run_input, cwd=tmp_path)
    client = get_sync_client(url=langgraph_server.url)
    try:
        assert relay.held.wait(timeout=60), process.communicate()
        thread_id = UUID.search(relay.held_request.decode()).group()  # type: ignore[union-attr]
        process.send_signal(signal.SIGINT)
        assert relay.listed.wait(timeout=30), process.communicate()  # it found no run yet
        relay.release.set()  # now the server gets run.start
        out, err = process.communicate(timeout=60)
        assert "Traceback" not in out + err
        assert process.returncode == 130, err
        assert "was cancelled on the server" in err, err
        # the server ends a cancelled run a moment after it answered the cancel
        deadline = time.monotonic() + 15
        while (runs := client.runs.list(thread_id)) and runs[0]["status"] in ("pending", "running"):
            assert time.monotonic() < deadline, runs
            time.sleep(0.05)
        assert len(runs) == 1, runs
        assert runs[0]["run_id"] in err
        assert not (tmp_path / "cassettes").exists()
    finally:
        relay.release.set()
        gate.touch()  # lets the node's worker thread end
        client.close()
        relay.close()
        if process.poll() is None:
            process.kill()
            process.wait()


def test_config_reaches_the_thread_run(tmp_path: Path, langgraph_url: str) -> None:
    """--config is sent in ``run.start``: the run the server made carries it."""
    result = record(
        langgraph_url, "joke", *THREADS, "--input", '{"topic": "x"}', "--quiet",
        "--config", '{"configurable": {"tenant": "acme"}}', "-o", "j.json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, assert_clean(result)
    client = get_sync_client(url=langgraph_url)
    try:
        (run, *_) = client.runs.list(_recorded_thread(tmp_path / "j.json"))
    finally:
        client.close()
    assert run["kwargs"]["config"]["configurable"]["tenant"] == "acme"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        ([*THREADS, "--mode", "values"], "--mode"),
        ([*THREADS, "--command", '{"resume": "yes"}'], "--command"),
        ([*THREADS, "--stateless"], "--stateless"),
        ([*THREADS, "--subgraphs"], "--subgraphs"),
        ([*THREADS, "--resumable"], "--resumable"),
        (["--transport", "ws"], "--transport"),
    ],
    ids=["mode", "command", "stateless", "subgraphs", "resumable", "transport-on-runs"],
)
def test_options_of_the_other_protocol_are_refused(
    tmp_path: Path, args: list[str], option: str
) -> None:
    """An option the chosen protocol would ignore is a usage error (exit 2) naming it,
    before any request (the URL is never reached)."""
    result = record("http://127.0.0.1:9", "joke", *args, "-o", "x.json", cwd=tmp_path)
    output = assert_clean(result)
    assert result.returncode == 2, output
    assert f"Error: {option} is for --protocol" in output
    assert "cannot reach" not in output
    assert not (tmp_path / "x.json").exists()


@pytest.mark.parametrize("protocol", ["runs", "threads"])
def test_config_that_is_not_an_object_is_a_usage_error(tmp_path: Path, protocol: str) -> None:
    """--config must be a JSON object: the v3 protocol would drop anything else silently."""
    result = record(
        "http://127.0.0.1:9", "joke", "--protocol", protocol, "--config", "[1]", cwd=tmp_path
    )
    output = assert_clean(result)
    assert result.returncode == 2, output
    assert "--config must be a JSON object, not list" in output


def test_terminal_gets_the_redacted_events(tmp_path: Path, langgraph_url: str) -> None:
    """The printed v3 events are the redacted ones the cassette keeps, not the server's."""
    secret = "hush-hush-4711"
    result = record(
        langgraph_url, "joke", *THREADS, "--input", json.dumps({"topic": secret}),
        "--redact-key", "topic", "--redact-key", "joke", "-o", "j.json", cwd=tmp_path,
    )  # fmt: skip
    output = assert_clean(result)
    assert result.returncode == 0, output
    assert "Receiving new event of type: values..." in result.stdout
    assert "{'topic': '<redacted>'" in result.stdout
    assert secret not in output
    assert secret.encode() not in (tmp_path / "j.json").read_bytes()
