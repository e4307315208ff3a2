"""No secret in any written file: headers, query parameters, request bodies, run configs,
response bodies and frames, through the Python API, the CLI and the proxy, against a real
``langgraph dev`` (a ``debug`` stream echoes the run's config in every checkpoint)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_sync_client

from streamcassette import Redactor, load, use_cassette
from streamcassette._cassette import RecordedRequest, RecordedResponse
from streamcassette._redact import _SCAN_NEEDLES, SECRET_KEY_ENDINGS, is_secret_key

HEADER_SECRET = "hdr-SECRET-2222"  # the SDK's x-api-key header
QUERY_SECRET = "qry-SECRET-3333"  # ?api-key=
QUERY_SECRET_2 = "qry-SECRET-3434"  # ?x-api-key=
CONFIG_SECRET = "sk-config-SECRET-1111"  # config.configurable.openai_api_key
METADATA_SECRET = "meta-SECRET-4444"  # a thread's metadata.api_key, echoed in responses
TENANT_SECRET = "tenant-SECRET-5555"  # a key the user names: redact_keys=["tenant_code"]
NOTE_SECRET = "note-SECRET-6666"  # a path the user names: redact_paths=["metadata.note"]
# Other providers' credential names in the config, echoed by the debug stream too.
OTHER_CONFIG_SECRETS = {
    "huggingfacehub_api_token": "hf_SECRET-7777",
    "aws_secret_access_key": "aws-SECRET-8888",
    "github_token": "ghp_SECRET-9999",
}
SECRETS = (
    *OTHER_CONFIG_SECRETS.values(),
    HEADER_SECRET,
    QUERY_SECRET,
    QUERY_SECRET_2,
    CONFIG_SECRET,
    METADATA_SECRET,
    TENANT_SECRET,
    NOTE_SECRET,
)
CONFIG = {
    "configurable": {
        "openai_api_key": CONFIG_SECRET,
        "tenant_code": TENANT_SECRET,
        **OTHER_CONFIG_SECRETS,
    }
}


def assert_no_secret(folder: Path) -> int:
    """Every file under ``folder`` is free of every secret; returns how many were read."""
    files = [path for path in folder.rglob("*") if path.is_file()]
    for path in files:
        data = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in data, f"{secret} written into {path}"
    return len(files)


# --- the key rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "api_key",
        "openai_api_key",
        "apikey",
        "apiKey",
        "password",
        "secret",
        "client_secret",
        "access_token",
        "refresh_token",
        "authorization",
        "x-api-key",
        "X-Api-Key",
        "api_token",
        "huggingfacehub_api_token",
        "replicate_api_token",
        "aws_secret_access_key",
        "github_token",
        "hf_token",
        "bot_token",
        "token",
        "api_keys",
        "credentials",
        "passphrase",
        "ocp-apim-subscription-key",
        "AccountKey",
    ],
)
def test_secret_looking_keys_are_secret(name: str) -> None:
    """Credential-looking names are secret, in any case and with - or _."""
    assert is_secret_key(name)


@pytest.mark.parametrize(
    "name",
    [
        "max_tokens",
        "tokens",
        "token_usage",
        "input_tokens",
        "total_tokens",
        "output_token_details",
        "thread_id",
        "api_key_id",
        "key",
        "cache_key",
        "tokenizer",
    ],
)
def test_token_counts_and_ids_are_not_secret(name: str) -> None:
    """Token counts, usage and ids are kept."""
    assert not is_secret_key(name)


def test_every_secret_ending_passes_the_cheap_scan() -> None:
    """The byte pre-check finds every key the rule calls secret (a frame is never skipped
    when it holds one)."""
    for ending in SECRET_KEY_ENDINGS:
        frame = b'data: {"' + ending.encode() + b'":"x"}\n\n'
        assert any(needle in frame.lower() for needle in _SCAN_NEEDLES), ending
        assert Redactor().frame(frame) == b'data: {"' + ending.encode() + b'":"<redacted>"}\n\n'


def test_a_logprob_token_is_generated_text_not_a_credential() -> None:
    """OpenAI log probabilities name each generated piece ``token``: kept beside a
    ``logprob``, redacted anywhere else."""
    frame = (
        b'data: {"logprobs":{"content":[{"token":"Hello","logprob":-0.1}]},'
        b'"auth":{"token":"ghp_s3cret"}}\n\n'
    )
    assert Redactor().frame(frame) == (
        b'data: {"logprobs":{"content":[{"token":"Hello","logprob":-0.1}]},'
        b'"auth":{"token":"<redacted>"}}\n\n'
    )


@pytest.mark.parametrize("depth", [300, 2000])
def test_secrets_nested_deeper_than_json_goes_are_redacted_all_the_same(depth: int) -> None:
    """A body or frame nested past what orjson writes (255) or reads (1024) levels deep is
    redacted by key pattern instead of passing through in clear or raising."""
    content = b"[" * depth + b'{"api_key":"s3cret","n":"kept"}' + b"]" * depth
    for redacted in (Redactor().body(content), Redactor().frame(b"data: " + content + b"\n\n")):
        assert b"s3cret" not in redacted
        assert b'{"api_key":"<redacted>","n":"kept"}' in redacted


def test_text_that_is_not_json_has_its_secret_pairs_redacted() -> None:
    """A body that is not JSON but holds a JSON-looking secret pair loses the secret."""
    assert Redactor().body(b'oops {"password": "hunter2", "user": "me"') == (
        b'oops {"password": "<redacted>", "user": "me"'
    )


def test_frames_keep_their_other_fields_and_line_endings() -> None:
    """A redacted frame keeps its event, id and CRLF endings; a clean one is the same
    object (no copy on the hot path)."""
    frame = b'event: debug\r\nid: 7\r\ndata: {"a":{"api_key":"s","max_tokens":5}}\r\n\r\n'
    assert Redactor().frame(frame) == (
        b'event: debug\r\nid: 7\r\ndata: {"a":{"api_key":"<redacted>","max_tokens":5}}\r\n\r\n'
    )
    clean = b'event: messages\r\ndata: {"usage":{"input_tokens":3}}\r\n\r\n'
    assert Redactor().frame(clean) is clean


def test_user_keys_and_paths_and_empty_values() -> None:
    """``keys`` and ``paths`` add to the rule; null, booleans and empty strings stay."""
    redactor = Redactor(keys=["Tenant_Code"], paths=["config.*.region", "items[1]"])
    body = (
        b'{"config":{"c":{"region":"eu","tenant_code":"t"}},"items":["a","b"],'
        b'"password":"","is_secret":true,"secret":null}'
    )
    assert redactor.body(body) == (
        b'{"config":{"c":{"region":"<redacted>","tenant_code":"<redacted>"}},'
        b'"items":["a","<redacted>"],"password":"","is_secret":true,"secret":null}'
    )


# --- the Python API against a real server -------------------------------------------------------


def run_with_secrets(url: str) -> list[Any]:
    client = get_sync_client(url=url, api_key=HEADER_SECRET)
    thread = client.threads.create(
        metadata={"api_key": METADATA_SECRET}, params={"api-key": QUERY_SECRET}
    )
    parts = list(
        client.runs.stream(
            thread["thread_id"],
            "joke",
            input={"topic": "ice cream"},
            config=CONFIG,
            metadata={"note": NOTE_SECRET},
            stream_mode=["debug", "values"],
            params={"x-api-key": QUERY_SECRET_2},
        )
    )
    client.close()
    return parts


HOOKS: dict[str, Any] = {"redact_keys": ["tenant_code"], "redact_paths": ["**.metadata.note"]}


def test_python_api_writes_no_secret_and_still_replays(tmp_path: Path, langgraph_url: str) -> None:
    """Recorded with every secret channel in use, the cassette holds none of them, shows
    where they were, and replays through the same code."""
    path = tmp_path / "secrets.json"
    with use_cassette(path, mode="record", **HOOKS):
        live = run_with_secrets(langgraph_url)
    assert CONFIG_SECRET in repr(live)  # the debug stream did echo the config
    assert_no_secret(tmp_path)
    text = path.read_text()
    assert '"openai_api_key": "<redacted>"' in text or '"openai_api_key\\":\\"<redacted>' in text
    with use_cassette(path, **HOOKS):
        replayed = run_with_secrets("http://127.0.0.1:9")
    assert [part.event for part in replayed] == [part.event for part in live]
    assert CONFIG_SECRET not in repr(replayed)


def test_hooks_change_or_drop_interactions(tmp_path: Path, langgraph_url: str) -> None:
    """``before_record_request`` / ``before_record_response`` get each interaction before
    it is written: a changed copy is written, None leaves the interaction out."""

    def no_thread_creation(request: RecordedRequest) -> RecordedRequest | None:
        if request.method == "POST" and request.path == "/threads":
            return None
        return dataclasses.replace(request, headers=[])

    def tag(response: RecordedResponse) -> RecordedResponse:
        return dataclasses.replace(response, headers=[*response.headers, ("x-hooked", "1")])

    path = tmp_path / "hooked.json"
    with use_cassette(
        path,
        mode="record",
        before_record_request=no_thread_creation,
        before_record_response=tag,
        **HOOKS,
    ):
        run_with_secrets(langgraph_url)
    cassette = load(path)
    assert all(i.request.path != "/threads" for i in cassette.interactions)
    assert all(i.request.headers == [] for i in cassette.interactions)
    assert all(("x-hooked", "1") in i.response.headers for i in cassette.interactions if i.response)
    assert_no_secret(tmp_path)


# --- the CLI ----------------------------------------------------------------------------------


def test_cli_record_writes_no_secret(tmp_path: Path, langgraph_url: str) -> None:
    """``record --config`` with an API key in the configurable, in debug mode: the cassette
    and the printed events hold no secret."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "streamcassette.cli",
            "record",
            langgraph_url,
            "joke",
            "--input",
            '{"topic": "ice cream"}',
            "--config",
            json.dumps(CONFIG),
            "--mode",
            "debug",
            "--redact-key",
            "tenant_code",
            "-o",
            "c.json",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LANGGRAPH_API_KEY": HEADER_SECRET},
    )
    assert result.returncode == 0, result.stderr
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr
    assert assert_no_secret(tmp_path) >= 1
    assert "<redacted>" in (tmp_path / "c.json").read_text()


# --- the proxy --------------------------------------------------------------------------------


def test_proxy_writes_no_secret(tmp_path: Path, langgraph_url: str) -> None:
    """Through the proxy every secret still reaches the server, and none reaches a file."""
    pytest.importorskip("starlette")
    from streamcassette.serve import BackgroundServer
    from streamcassette.serve._proxy import proxy_app

    out = tmp_path / "out"
    app = proxy_app(
        langgraph_url, out, redact=Redactor(keys=["tenant_code"], paths=["**.metadata.note"])
    )
    with BackgroundServer(app) as server:
        live = run_with_secrets(server.url)
    assert CONFIG_SECRET in repr(live)  # passed through unredacted
    assert assert_no_secret(out) >= 1
    written = [path for path in out.glob("*.json")]
    assert any("<redacted>" in path.read_text() for path in written)


def test_cli_proxy_keeps_out_what_the_project_and_its_options_name(
    tmp_path: Path, langgraph_url: str
) -> None:
    """``streamcassette proxy`` redacts the keys ``[tool.streamcassette] redact-keys`` names
    and the paths ``--redact-path`` names, as ``record`` does."""
    pytest.importorskip("starlette")
    from jsclient import cli

    (tmp_path / "pyproject.toml").write_text(
        '[tool.streamcassette]\nredact-keys = ["tenant_code"]\n'
    )
    out = tmp_path / "out"
    proxy = ("proxy", "--upstream", langgraph_url, "-o", str(out))
    with cli(*proxy, "--redact-path", "**.metadata.note", cwd=tmp_path) as (url, _process):
        live = run_with_secrets(url)
    assert TENANT_SECRET in repr(live)  # passed through unredacted
    assert NOTE_SECRET in repr(live)
    assert assert_no_secret(tmp_path) >= 2


def test_cli_record_redacts_the_paths_it_is_told(tmp_path: Path, langgraph_url: str) -> None:
    """``record --redact-path`` keeps a value no key rule knows out of the cassette and out
    of the printed events (the debug stream echoes the run's config)."""
    config = {"configurable": {"note": NOTE_SECRET}}
    record = [sys.executable, "-m", "streamcassette.cli", "record", langgraph_url, "joke"]
    run = ["--input", '{"topic": "ice cream"}', "--config", json.dumps(config), "--mode", "debug"]
    result = subprocess.run(
        [*record, *run, "--redact-path", "**.note", "-o", "c.json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert NOTE_SECRET not in result.stdout + result.stderr
    assert assert_no_secret(tmp_path) >= 1
    assert '"note": "<redacted>"' in (tmp_path / "c.json").read_text()


@pytest.mark.parametrize("command", ["record", "proxy"])
def test_a_redact_path_that_cannot_be_read_is_a_usage_error(tmp_path: Path, command: str) -> None:
    """A glob ``--redact-path`` cannot read stops the command before it connects: exit 2,
    naming the option and the glob."""
    proxy = ["--upstream", "http://127.0.0.1:9", "-o", "out"]
    target = ["http://127.0.0.1:9", "joke"] if command == "record" else proxy
    result = subprocess.run(
        [sys.executable, "-m", "streamcassette.cli", command, *target, "--redact-path", "a..b"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "--redact-path" in result.stderr
    assert "a..b" in result.stderr
    assert "Traceback" not in result.stderr


def test_pyproject_redact_settings_are_read_and_checked(tmp_path: Path) -> None:
    """``redact-keys`` and ``redact-paths`` are read from [tool.streamcassette]; a path
    glob that cannot be read is an error naming the file."""
    from streamcassette import load_config
    from streamcassette._config import ConfigError

    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.streamcassette]\nredact-keys = ["tenant_code"]\nredact-paths = ["**.note"]\n'
    )
    config = load_config(tmp_path)
    assert config.redact_keys == ("tenant_code",)
    assert config.redact_paths == ("**.note",)
    pyproject.write_text('[tool.streamcassette]\nredact-paths = ["a..b"]\n')
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert str(pyproject) in str(caught.value)
    assert "a..b" in str(caught.value)


# --- WebSocket connections (v3 thread streams) ---------------------------------------------


def test_websocket_handshakes_and_messages_write_no_secret(tmp_path: Path) -> None:
    """A recorded WebSocket keeps no secret from its handshake's headers and query, nor from
    the JSON messages sent or received (a loopback echo server answers each message)."""
    from websockets.sync.client import connect
    from websockets.sync.server import ServerConnection, serve

    from streamcassette import Cassette, save
    from streamcassette._ws_record import WebSocketRecorder

    def echo(connection: ServerConnection) -> None:
        for message in connection:
            connection.send(message)

    command = {"id": 1, "method": "run.start", "params": {"config": CONFIG}}
    cassette = Cassette()
    with serve(echo, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        port = server.socket.getsockname()[1]
        recorder = WebSocketRecorder(cassette, redact=Redactor(keys=["tenant_code"]))
        recording_connect = recorder.sync_connect(connect)
        url = f"ws://127.0.0.1:{port}/threads/t-1/stream/events?api-key={QUERY_SECRET}"
        with recording_connect(url, additional_headers={"x-api-key": HEADER_SECRET}) as socket:
            socket.send(json.dumps(command))
            assert CONFIG_SECRET in socket.recv(timeout=10)  # the live client still gets it
        server.shutdown()
        thread.join(timeout=10)
    path = save(cassette, tmp_path / "ws.json")
    assert_no_secret(tmp_path)
    websocket = load(path).interactions[0].response.websocket  # type: ignore[union-attr]
    assert websocket is not None
    assert [message.sent for message in websocket.messages] == [True, False]
    for message in websocket.messages:
        assert isinstance(message.data, str)
        assert '"openai_api_key":"<redacted>"' in message.data
