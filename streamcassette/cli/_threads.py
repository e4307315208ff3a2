"""The v3 thread protocol in the CLI: one session recorded or played through the SDK's
``client.threads.stream()``, its events printed the way the SDK docs print them."""

from __future__ import annotations

import asyncio
import pprint
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import click

from .._cassette import Cassette
from ..protocols import threads

Transport = Literal["sse", "websocket"]


@dataclass
class RunProgress:
    """How far a run got, for the messages: its events, its ids once known, its failure."""

    events: int = 0
    run_id: str | None = None
    thread_id: str | None = None
    created_thread: str | None = None  # made for this run (not named by the user)
    # the request that starts the run went out: the run may appear on the server even if no
    # answer named it (an interrupt can land while the request is on its way)
    start_sent: bool = False
    error: Any = None  # an ``event: error``'s data, or a failed v3 run's error


class RunRefused(Exception):
    """The server answered ``run.start`` with a protocol error (an unknown assistant, a
    bad config): the SDK raises a bare ``RuntimeError`` for it."""


class EventPrinter:
    """Prints v3 events docs-style (``Receiving new event of type: values...`` and the
    data); LLM tokens (``messages`` content-block deltas) print inline as they arrive.
    ``redact`` (the recording's redactor) turns each event into what the cassette keeps
    before it is printed: the terminal is no safer than the file."""

    def __init__(self, *, raw: bool = False, redact: Callable[[Any], Any] | None = None) -> None:
        self.raw = raw
        self.redact = redact
        self.in_tokens = False

    def event(self, event: dict[str, Any]) -> None:
        if self.redact is not None:
            event = self.redact(event)
        text = None if self.raw else threads.token_text(event)
        if text is not None:
            if not self.in_tokens:
                click.echo(click.style("Streaming tokens (messages)...", bold=True))
                self.in_tokens = True
            click.echo(text, nl=False)
            return
        if not self.raw and event.get("method") == "messages":
            return  # message-start/finish and block boundaries: the tokens say it all
        self.end_tokens()
        click.echo(
            click.style(f"Receiving new event of type: {threads.describe(event)}...", bold=True)
        )
        params = event.get("params")
        data = params.get("data") if isinstance(params, dict) else None
        click.echo(pprint.pformat(data, width=100, sort_dicts=False))
        click.echo("\n")

    def end_tokens(self) -> None:
        if self.in_tokens:
            click.echo("\n\n")
            self.in_tokens = False


async def run_session(
    client: Any,
    assistant: str,
    run_input: Any,
    *,
    thread_id: str | None,
    transport: Transport,
    printer: EventPrinter | None,
    responses: Sequence[Any] = (),
    config: Any = None,
    progress: RunProgress | None = None,
) -> RunProgress:
    """Start one run on a thread stream, print ``thread.events`` until the run ends
    (answering its interrupts with ``responses``, in order), then read ``thread.output``.

    ``progress`` (a fresh one if None, returned) learns the thread and the run's id as
    soon as the server names them, so Ctrl-C can cancel the run; a failed run leaves its
    error there. Raises ``RunRefused`` when the server refuses ``run.start``."""
    run = progress if progress is not None else RunProgress()
    async with client.threads.stream(
        thread_id, assistant_id=assistant, transport=transport
    ) as thread:
        run.thread_id = thread.thread_id
        if thread_id is None:  # the SDK minted it: the server makes it for this run
            run.created_thread = thread.thread_id

        async def collect() -> None:
            async for message in thread.events:
                event = threads.event_of(message)
                if event is None:  # the WebSocket subscribe command's reply
                    continue
                run.events += 1
                if printer is not None:
                    printer.event(event)
                if threads.is_terminal(event):
                    run.error = _failure(event)
                    return

        reader = asyncio.create_task(collect())
        run.start_sent = True
        try:
            started = await thread.run.start(input=run_input, config=config)
        except RuntimeError as exc:
            if not str(exc).startswith("Protocol error"):  # the SDK's error envelope
                raise
            reader.cancel()
            raise RunRefused(" ".join(str(exc).split())) from None
        run.run_id = started.get("run_id") or None
        for response in responses:
            while not thread.interrupted and not reader.done():
                await asyncio.sleep(0.01)
            if reader.done():
                break
            await thread.run.respond(response)
        await reader
        if printer is not None:
            printer.end_tokens()
        try:
            await thread.output
        except Exception as exc:  # a failed run: its error is the last event printed
            run.error = run.error or str(exc)
    return run


def _failure(event: dict[str, Any]) -> Any:
    """The error of a terminal ``lifecycle`` event that says ``failed``, else None."""
    params = event.get("params")
    data = params.get("data") if isinstance(params, dict) else None
    if not isinstance(data, dict) or data.get("event") != "failed":
        return None
    return data.get("error") or "the run failed"


@dataclass
class RecordedSession:
    """A v3 run as recorded: where, what, over which transport, and its interrupts' answers."""

    thread_id: str
    assistant: str
    input: Any
    transport: Transport
    responses: list[Any] = field(default_factory=list)


def recorded_sessions(cassette: Cassette) -> list[RecordedSession]:
    """The v3 runs recorded in a cassette, in order: one per ``run.start`` command, with the
    ``input.respond`` answers sent on its thread after it."""
    sessions: list[RecordedSession] = []
    for interaction in cassette.interactions:
        request = interaction.request
        if request.method != "POST" or not threads.COMMANDS_PATH.match(request.path):
            continue
        body = request.body.json_or_none() if request.body is not None else None
        if not isinstance(body, dict):
            continue
        params = body.get("params")
        if body.get("method") == "input.respond" and isinstance(params, dict):
            thread_id = threads.thread_id_of(request.path)
            for session in reversed(sessions):
                if session.thread_id == thread_id:
                    session.responses.append(params.get("response"))
                    break
            continue
        if body.get("method") != "run.start":
            continue
        params = body.get("params")
        if not isinstance(params, dict):
            params = {}
        thread_id = threads.thread_id_of(request.path) or ""
        uses_websocket = any(
            other.request.path == f"/threads/{thread_id}/stream/events"
            for _, other in cassette.websockets()
        )
        sessions.append(
            RecordedSession(
                thread_id,
                str(params.get("assistant_id")),
                params.get("input"),
                "websocket" if uses_websocket else "sse",
            )
        )
    return sessions
