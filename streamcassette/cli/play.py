"""``streamcassette play``: replay a cassette through the SDK and print it like the docs do."""

from __future__ import annotations

import asyncio
import pprint
from pathlib import Path
from typing import Any

import click
import httpx
import orjson

from .._cassette import Interaction, StreamEnd
from .._format import load
from .._sdk import CassetteSession
from ..protocols.runs import token_text
from ._common import bundled_cassette, load_or_fail
from ._threads import EventPrinter, RecordedSession, recorded_sessions, run_session


def print_part(event: str, data: Any) -> None:
    """One event the way the LangGraph streaming docs print it."""
    click.echo(click.style(f"Receiving new event of type: {event}...", bold=True))
    click.echo(_pretty(data))
    click.echo("\n")


def _pretty(data: Any) -> str:
    try:
        return pprint.pformat(data, width=100, sort_dicts=False)
    except RecursionError:  # a value nested hundreds of levels deep: Python cannot recurse
        return f"<a {type(data).__name__} nested too deep to print>"


class Printer:
    """Prints events docs-style; runs of LLM tokens print inline, as a chat UI shows them."""

    def __init__(self, *, raw: bool) -> None:
        self.raw = raw
        self.in_tokens = False

    def part(self, event: str, data: Any) -> None:
        text = None if self.raw else token_text(event, data)
        if text is not None:
            if not self.in_tokens:
                click.echo(click.style(f"Streaming tokens ({event})...", bold=True))
                self.in_tokens = True
            click.echo(text, nl=False)
            return
        self.end_tokens()
        print_part(event, data)

    def end_tokens(self) -> None:
        if self.in_tokens:
            click.echo("\n\n")
            self.in_tokens = False


async def play(path: Path, speed: float | None, *, raw: bool = False) -> int:
    """Replay every stream of the cassette through the async SDK; returns the event count."""
    cassette = load(path)
    session = CassetteSession(path, mode="replay", speed=speed)
    sessions = recorded_sessions(cassette)
    if sessions:
        return await _play_threads(session, sessions, raw=raw)
    client = session.client()
    printer = Printer(raw=raw)
    count = 0
    try:
        reconnect_to: str | None = None
        for _index, interaction in cassette.streams():
            request = interaction.request
            if request.method == "GET" and request.path == reconnect_to:
                # The SDK reconnected after a drop: it replays inside the dropped stream.
                continue
            reconnect_to = _reconnect_path(interaction)
            body = request.body.json() if request.body is not None else None
            async for part in client.http.stream(
                request.path, request.method, json=body, params=list(request.query) or None
            ):
                count += 1
                printer.part(part.event, part.data)
        printer.end_tokens()
    finally:
        await client.aclose()
    return count


async def _play_threads(
    session: CassetteSession, sessions: list[RecordedSession], *, raw: bool
) -> int:
    """A v3 cassette: each recorded run replayed through ``client.threads.stream()``, its
    interrupts answered as they were."""
    printer = EventPrinter(raw=raw)
    count = 0
    with session.patch_sdk():
        client = session.client()
        try:
            for recorded in sessions:
                run = await run_session(
                    client,
                    recorded.assistant,
                    recorded.input,
                    thread_id=None,  # minted, as most programs do: replay binds it
                    transport=recorded.transport,
                    printer=printer,
                    responses=recorded.responses,
                )
                count += run.events
                if run.error is not None:  # its error is the last event printed
                    click.echo(f"the run failed: {run.error}", err=True)
        finally:
            await client.aclose()
    return count


def _reconnect_path(interaction: Interaction) -> str | None:
    """Where the SDK reconnects after this stream, if it dropped."""
    response = interaction.response
    if response is None or response.stream is None or response.stream.end is not StreamEnd.DROPPED:
        return None
    return response.header("location")


@click.command()
@click.argument(
    "cassette",
    required=False,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Playback speed: 1 keeps the recorded timing, 2 is twice as fast.",
)
@click.option("--instant", is_flag=True, help="No waiting between events.")
@click.option("--raw", is_flag=True, help="Print every event in full, tokens included.")
def command(cassette: Path | None, speed: float, instant: bool, raw: bool) -> None:
    """Play CASSETTE's streams in the terminal, offline, through the LangGraph SDK.

    Without CASSETTE, plays the bundled recording of the weather agent.
    """
    if speed <= 0:
        raise click.BadParameter("must be positive", param_hint="--speed")
    path = cassette or bundled_cassette()
    load_or_fail(path)
    try:
        count = asyncio.run(play(path, None if instant else speed, raw=raw))
    except httpx.HTTPError as exc:
        # A recorded drop replays as the same error, and a hand-edited cassette may not
        # replay at all: either way one paragraph, not the SDK's traceback.
        msg = f"{path}: playback stopped: {type(exc).__name__}: {exc}"
        raise PlaybackStopped(msg) from None
    except orjson.JSONDecodeError as exc:  # the SDK parses each frame's data
        msg = f"{path}: playback stopped: a frame's data is not JSON the SDK can read ({exc})"
        raise PlaybackStopped(msg) from None
    except KeyboardInterrupt:
        click.echo(f"{path}: playback interrupted", err=True)
        raise SystemExit(130) from None
    click.echo(f"played {count} events from {path}", err=True)


class PlaybackStopped(click.ClickException):
    """The cassette loaded but its streams did not play to their end: exit status 1."""

    exit_code = 1
