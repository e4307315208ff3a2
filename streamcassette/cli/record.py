"""``streamcassette record``: run a graph on a live server, print its events, save a cassette.

Nothing is written unless the run recorded whole: a server that cannot be reached, an HTTP
error, a refused v3 ``run.start``, a dropped stream, a run ending in ``event: error`` or a
failed v3 lifecycle (unless ``--allow-error``) or Ctrl-C (which cancels the run on the
server) leave an existing cassette as it was, and each says so in one paragraph. Exit
status: 0 recorded (or skipped by ``record-mode = "missing"``), 1 the run did not record,
2 a usage or settings error (as for every command), 130 interrupted.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import httpx
from click.core import ParameterSource

from .._cassette import Cassette, StreamEnd
from .._config import StreamCassetteConfig
from .._format import ATTACH_FROM, attached_file
from .._sdk import CassetteSession
from ._common import Failed, parse_json_option, project_settings, redaction, redaction_options
from ._threads import EventPrinter, RunProgress, RunRefused, run_session
from .play import print_part

if TYPE_CHECKING:
    from langgraph_sdk.client import SyncLangGraphClient
    from langgraph_sdk.schema import RunCreateMetadata

# The one probe before the run: long enough for a busy local server, short enough that a
# wrong URL fails at once (the SDK's own connect retries take ~10 s).
PROBE_TIMEOUT = 2.0
# After Ctrl-C with the run's start request sent but unanswered: how long the run may take to
# appear on the server (the request may still be on its way), and how often to look.
START_GRACE = 3.0
START_POLL = 0.1


class RecordFailed(click.ClickException):
    """The run did not record: exit status 1."""

    exit_code = 1


class StreamDropped(httpx.RequestError):
    """Raised for the SDK's reconnect after a dropped stream: ``record`` keeps what it got
    rather than retrying for ~40 s. Not an ``httpx.TransportError``, so the SDK does not
    retry it."""


class _NoReconnect(httpx.AsyncBaseTransport):
    """Passes requests on until a recorded stream has dropped, then refuses them."""

    def __init__(self, inner: httpx.AsyncBaseTransport, cassette: Cassette) -> None:
        self.inner = inner
        self.cassette = cassette

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for _, interaction in self.cassette.streams():
            stream = interaction.response.stream if interaction.response else None
            if stream is not None and stream.end is StreamEnd.DROPPED:
                msg = "the stream dropped; streamcassette record does not reconnect"
                raise StreamDropped(msg, request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class _Run(RunProgress):
    """What the run got to, for the messages."""

    deleted_thread: bool = False

    def created(self, metadata: RunCreateMetadata) -> None:
        """The run's ids from the response's ``Content-Location``, as soon as it starts."""
        self.run_id = metadata["run_id"]
        self.thread_id = self.thread_id or metadata.get("thread_id")


def default_output(assistant: str, modes: tuple[str, ...]) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.+-]+", "-", f"{assistant}-{'+'.join(modes)}").strip("-")
    return Path("cassettes") / f"{slug}.json"


@click.command()
@click.argument("url")
@click.argument("assistant")
@click.option("--input", "input_json", metavar="JSON", help="The run's input, as JSON.")
@click.option(
    "--command", "command_json", metavar="JSON", help='A command, e.g. {"resume": "yes"}.'
)
@click.option(
    "--config",
    "config_json",
    metavar="JSON",
    help='The run\'s config, e.g. {"configurable": {"model": "gpt-4o"}}.',
)
@click.option(
    "--mode",
    "modes",
    multiple=True,
    default=("updates",),
    show_default=True,
    help=(
        "Stream mode; repeat for several (values, updates, messages-tuple, debug, ...). "
        "--protocol runs only: a v3 run streams every channel."
    ),
)
@click.option(
    "--thread/--stateless",
    default=True,
    show_default=True,
    help="Create a thread and run on it, or use POST /runs/stream.",
)
@click.option("--thread-id", help="Run on this existing thread instead of creating one.")
@click.option("--subgraphs", is_flag=True, help="Stream subgraph events too.")
@click.option("--resumable", is_flag=True, help="stream_resumable=True (frames carry ids).")
@redaction_options
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Cassette to write [default: cassettes/<assistant>-<modes>.json].",
)
@click.option(
    "--force",
    is_flag=True,
    help="Record over an existing cassette (record-mode 'once', the default, keeps it).",
)
@click.option(
    "--allow-error",
    is_flag=True,
    help="Save a run that ended in `event: error` or whose stream dropped, and exit 0.",
)
@click.option(
    "--attach/--embed",
    default=None,
    help=(
        "Write the frames verbatim into a .sse file beside the cassette (agent.sse for "
        "agent.json), which loads and replays faster, or embed them in the cassette. An "
        "attached cassette is both files: keep, copy and commit them together (mark *.sse "
        f"binary in .gitattributes).  [default: attach from {ATTACH_FROM >> 20} MiB of frames]"
    ),
)
@click.option(
    "--protocol",
    type=click.Choice(["runs", "threads"]),
    default="runs",
    show_default=True,
    help="runs: client.runs.stream(); threads: a v3 session, client.threads.stream().",
)
@click.option(
    "--transport",
    type=click.Choice(["sse", "ws"]),
    default="sse",
    show_default=True,
    help="With --protocol threads: events over SSE or a WebSocket.",
)
@click.option("--quiet", is_flag=True, help="Do not print the events.")
def command(
    url: str,
    assistant: str,
    input_json: str | None,
    command_json: str | None,
    config_json: str | None,
    modes: tuple[str, ...],
    thread: bool,
    thread_id: str | None,
    subgraphs: bool,
    resumable: bool,
    redact: tuple[str, ...],
    redact_keys: tuple[str, ...],
    redact_paths: tuple[str, ...],
    output: Path | None,
    force: bool,
    allow_error: bool,
    attach: bool | None,
    protocol: str,
    transport: str,
    quiet: bool,
) -> None:
    """Record one run of ASSISTANT on the LangGraph server at URL into a cassette.

    The API key, if the server needs one, is read from LANGGRAPH_API_KEY (or
    LANGSMITH_API_KEY) as the SDK does; it is redacted from the cassette, as are
    secret-looking JSON keys (api_key, *_api_key, password, access_token, ...) in the
    request, the responses and every frame, and what [tool.streamcassette] redact,
    redact-keys and redact-paths name.

    An existing cassette is kept unless --force, or record-mode = "all" in
    [tool.streamcassette] ("once", the default, keeps it; "missing" skips the run;
    "none" refuses to record).
    """
    _refuse_other_protocols_options(protocol)
    run_input = parse_json_option(input_json, "--input")
    run_command = parse_json_option(command_json, "--command")
    run_config = parse_json_option(config_json, "--config")
    if run_config is not None and not isinstance(run_config, dict):
        # the v3 protocol would drop it without a word
        msg = f"--config must be a JSON object, not {type(run_config).__name__}"
        raise click.BadParameter(msg)
    project = project_settings()
    hidden = redaction(project, redact, redact_keys, redact_paths)
    if protocol == "threads":
        target = output or default_output(assistant, ("threads", transport))
    else:
        target = output or default_output(assistant, modes)
    if not _should_record(target, project, force=force):
        return
    _probe(url)
    session = CassetteSession(
        target,
        mode="record",
        redact=hidden.names,
        redact_keys=hidden.keys,
        redact_paths=hidden.paths,
    )
    run = _Run()
    kwargs: dict[str, Any] = {
        "input": run_input,
        "stream_mode": list(modes) if len(modes) > 1 else modes[0],
        "stream_subgraphs": subgraphs,
        "stream_resumable": resumable,
    }
    if run_command is not None:
        kwargs["command"] = run_command
    if run_config is not None:
        kwargs["config"] = run_config

    def shown(value: Any) -> Any:
        return session.redactor.json(value)[0]  # the terminal is no safer

    async def record_threads() -> None:
        with session:
            client = session.client(url)
            try:
                await run_session(
                    client,
                    assistant,
                    run_input,
                    thread_id=thread_id,
                    transport="websocket" if transport == "ws" else "sse",
                    printer=None if quiet else EventPrinter(redact=shown),
                    config=run_config,
                    progress=run,
                )
            finally:
                await client.aclose()

    async def record() -> None:
        client = session.client(url)
        http = client.http.client
        http._transport = _NoReconnect(http._transport, session.cassette)
        try:
            run.thread_id = thread_id
            if run.thread_id is None and thread:
                run.thread_id = (await client.threads.create())["thread_id"]
                run.created_thread = run.thread_id
            run.start_sent = True
            try:
                async for part in client.runs.stream(
                    run.thread_id, assistant, on_run_created=run.created, **kwargs
                ):
                    run.events += 1
                    _note(run, part.event, part.data)
                    if not quiet:
                        print_part(part.event, shown(part.data))
            except httpx.HTTPStatusError:
                await _delete_unused_thread(client, run)
                raise
        finally:
            await client.aclose()

    if "LANGSMITH_API_KEY" in os.environ and "LANGGRAPH_API_KEY" not in os.environ:
        click.echo("using LANGSMITH_API_KEY from the environment (redacted)", err=True)
    kept = _kept(target)
    try:
        asyncio.run(record_threads() if protocol == "threads" else record())
    except KeyboardInterrupt:
        click.echo(_interrupted(url, run, kept), err=True)
        raise SystemExit(130) from None
    except httpx.HTTPStatusError as exc:
        raise RecordFailed(_http_error(exc, kept) + _deleted(run)) from None
    except RunRefused as exc:
        msg = (
            f"the server refused `run.start` for thread {run.thread_id}: "
            f"{_clip(str(exc)).rstrip('.')}. "
            f"Nothing was written; {kept}"
        )
        raise RecordFailed(msg) from None
    except (StreamDropped, httpx.TransportError) as exc:
        if not _dropped(session.cassette):
            raise RecordFailed(_unreachable(url, exc, during_run=True) + " " + kept) from None
        if not allow_error:
            raise RecordFailed(_drop_message(run, session.cassette, kept)) from None
        click.echo(_drop_message(run, session.cassette, "saving it (--allow-error)."), err=True)
    if run.error is not None and not allow_error:
        detail = _clip(run.error)
        how = "a `failed` lifecycle event" if protocol == "threads" else "`event: error`"
        msg = (
            f"the run ended in {how} after {run.events} events: {detail}. "
            f"Nothing was written; {kept} Pass --allow-error to record a failing run."
        )
        raise RecordFailed(msg)
    path = session.save(attach=attach)
    attached = attached_file(path)
    where = f" (frames attached in {attached.name})" if attached is not None else ""
    click.echo(f"recorded {run.events} events into {path}{where}", err=True)


# Options that only one protocol reads, and why the other has no use for them.
_PROTOCOL_OPTIONS: dict[str, tuple[str, str, str]] = {
    "modes": ("--mode", "runs", "a v3 run streams every channel; the server picks them"),
    "command_json": ("--command", "runs", "a v3 run answers interrupts with input.respond"),
    "thread": ("--stateless", "runs", "a v3 run always runs on a thread"),
    "subgraphs": ("--subgraphs", "runs", "a v3 run always streams its subgraphs"),
    "resumable": ("--resumable", "runs", "v3 events always carry their seq"),
    "transport": ("--transport", "threads", "runs streams are SSE"),
}


def _refuse_other_protocols_options(protocol: str) -> None:
    """A usage error for an option the chosen protocol would silently ignore."""
    context = click.get_current_context()
    for name, (option, owner, why) in _PROTOCOL_OPTIONS.items():
        source = context.get_parameter_source(name)
        if owner != protocol and source not in (None, ParameterSource.DEFAULT):
            msg = f"{option} is for --protocol {owner} only ({why}); drop it or change protocol"
            raise click.UsageError(msg)


def _should_record(target: Path, project: StreamCassetteConfig, *, force: bool) -> bool:
    """Whether to record, by the record mode and whether the cassette exists."""
    record_mode = project.record_mode or "once"
    where = f"record-mode = {record_mode!r} in {project.path}"
    if record_mode == "none":
        msg = f"{where}: recording is switched off; change the setting to record"
        raise Failed(msg)
    if force or record_mode == "all" or not target.exists():
        return True
    if record_mode == "missing":
        click.echo(f"{target} exists; not recording it again ({where})", err=True)
        return False
    msg = (
        f"{target} exists and is kept; pass --force to record over it (or set "
        'record-mode = "all" in [tool.streamcassette])'
    )
    raise Failed(msg)


def _probe(url: str) -> None:
    """One quick request before the SDK starts, so a wrong URL fails in seconds."""
    try:
        httpx.get(url.rstrip("/") + "/ok", timeout=PROBE_TIMEOUT)
    except httpx.HTTPError as exc:
        raise RecordFailed(_unreachable(url, exc, during_run=False)) from None
    except ValueError as exc:  # not a URL httpx can use
        msg = f"{url!r} is not a server URL ({exc}); give one like http://127.0.0.1:2024"
        raise Failed(msg) from None


def _unreachable(url: str, exc: Exception, *, during_run: bool) -> str:
    when = "during the run" if during_run else "before the run"
    return (
        f"cannot reach the LangGraph server at {url} {when} "
        f"({type(exc).__name__}: {exc or 'no answer'}). Is it running? Start it with "
        "`langgraph dev` (it prints its URL), or pass the URL of a running server."
    )


def _note(run: _Run, event: str, data: Any) -> None:
    if event == "metadata" and isinstance(data, Mapping):
        run.run_id = data.get("run_id") or run.run_id
        run.thread_id = run.thread_id or data.get("thread_id")
    elif event == "error":
        run.error = data


def _kept(target: Path) -> str:
    if target.exists():
        return f"the existing {target} was kept."
    return f"{target} was not created."


async def _delete_unused_thread(client: Any, run: _Run) -> None:
    """Delete the thread ``record`` created when the run did not start on it, so a refused
    run leaves nothing behind on the server."""
    if run.created_thread is None or run.run_id is not None:
        return
    try:
        await client.threads.delete(run.created_thread)
    except httpx.HTTPError:
        return  # the error the user sees is the refused run's; this is tidying only
    run.deleted_thread = True


def _deleted(run: _Run) -> str:
    if not run.deleted_thread:
        return ""
    return f" The thread {run.created_thread} created for the run was deleted."


def _http_error(exc: httpx.HTTPStatusError, kept: str) -> str:
    request, response = exc.request, exc.response
    detail = getattr(exc, "message", None) or _clip(response.text if response.is_closed else "")
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping) and body.get("detail"):
        detail = _clip(body["detail"])
    detail = " ".join(detail.split()).rstrip(".")  # one paragraph, however the server wrote it
    return (
        f"the server answered {request.method} {request.url.path} with "
        f"{response.status_code} {response.reason_phrase}: {detail}. Nothing was written; "
        f"{kept}"
    )


def _dropped(cassette: Cassette) -> bool:
    return any(
        interaction.response is not None
        and interaction.response.stream is not None
        and interaction.response.stream.end is StreamEnd.DROPPED
        for _, interaction in cassette.streams()
    )


def _drop_message(run: _Run, cassette: Cassette, outcome: str) -> str:
    error = next(
        (
            interaction.response.stream.error
            for _, interaction in cassette.streams()
            if interaction.response is not None
            and interaction.response.stream is not None
            and interaction.response.stream.error is not None
        ),
        None,
    )
    why = f" ({error.type}: {error.message})" if error is not None else ""
    return (
        f"the stream dropped after {run.events} events{why}; the recording holds those "
        f"events and where the stream broke. Nothing was written unless --allow-error; "
        f"{outcome}"
    )


def _interrupted(url: str, run: _Run, kept: str) -> str:
    cancelled = _cancel(url, run) if run.run_id or run.created_thread else None
    if cancelled is None:
        waited = ""
        if run.start_sent and run.created_thread:
            waited = (
                f" (no run was going on in thread {run.created_thread} within "
                f"{START_GRACE:g} s of the interrupt)"
            )
        return f"interrupted before the run started{waited}; nothing was written, {kept}"
    return f"interrupted: {cancelled} Nothing was written; {kept}"


def _cancel(url: str, run: _Run) -> str | None:
    """Cancel the run on the server (``runs.cancel``), so it does not go on without us;
    None if it never started."""
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=url, timeout=PROBE_TIMEOUT)
    try:
        if run.run_id is None:  # interrupted while the run was being created
            # a request on its way may still start it: look for a while, not once
            wait = START_GRACE if run.start_sent else 0.0
            run.run_id = _started_on(client, run.created_thread, wait)
            if run.run_id is None:
                return None
        thread_id = run.thread_id or _temporary_thread(client, run.run_id)
        if thread_id is None:
            return (
                f"run {run.run_id} may still be running on the server: no busy thread "
                "runs it, so it could not be cancelled."
            )
        client.runs.cancel(thread_id, run.run_id)
    except httpx.HTTPError as exc:
        detail = " ".join(_clip(str(exc)).split())  # one paragraph, whatever the server sent
        which = f"run {run.run_id}" if run.run_id else "the run"
        return f"cancelling {which} on the server failed ({type(exc).__name__}: {detail})."
    finally:
        client.close()
    return f"run {run.run_id} was cancelled on the server."


def _started_on(client: SyncLangGraphClient, thread_id: str | None, wait: float) -> str | None:
    """The run going on in the thread made for this run (nothing else runs there), if the
    server created it by ``wait`` seconds from now."""
    if thread_id is None:
        return None
    deadline = time.monotonic() + wait
    while True:
        try:
            runs = client.runs.list(thread_id)
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 404:  # 404: not even the thread was created yet
                raise
            runs = []
        found = next((r["run_id"] for r in runs if r["status"] in ("pending", "running")), None)
        if found is not None or time.monotonic() >= deadline:
            return found
        time.sleep(START_POLL)


def _temporary_thread(client: SyncLangGraphClient, run_id: str) -> str | None:
    """The thread a stateless run runs on: the server names it nowhere (not in the
    metadata event, not in ``Content-Location``), and ``runs.cancel`` needs it."""
    for thread in client.threads.search(status="busy", limit=100):
        if any(r["run_id"] == run_id for r in client.runs.list(thread["thread_id"])):
            return str(thread["thread_id"])
    return None


def _clip(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."
