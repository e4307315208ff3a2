"""``streamcassette show``: what a cassette holds, at a glance."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click

from .._cassette import AttachedFrames, RecordedWebSocket
from .._websocket import how_it_closed
from ..protocols import threads
from ._common import load_or_fail


@click.command()
@click.argument("cassette", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def command(cassette: Path) -> None:
    """List CASSETTE's interactions, frames per event type and stream durations."""
    loaded = load_or_fail(cassette)
    click.echo(f"{cassette}: {len(loaded.interactions)} interactions")
    for key, value in loaded.provenance.items():
        click.echo(f"  {key}: {value}")
    for index, interaction in enumerate(loaded.interactions):
        request, response = interaction.request, interaction.response
        status = str(response.status) if response is not None else "no response"
        click.echo(f"#{index} {request.describe()} -> {status}")
        if interaction.error is not None:
            click.echo(f"    error: {interaction.error.type}: {interaction.error.message}")
        if response is not None and response.websocket is not None:
            _show_websocket(response.websocket)
        if response is None or response.stream is None:
            continue
        stream = response.stream
        counts = Counter(frame.event or "(comment)" for frame in (f.parse() for f in stream.frames))
        size = stream.nbytes + len(stream.tail)
        where = ""
        if isinstance(stream.frames, AttachedFrames) and stream.frames.source is not None:
            where = f"attached in {stream.frames.source.name}, "
        click.echo(
            f"    stream: {len(stream.frames)} frames, {size} bytes, {where}"
            f"{stream.duration:.3f}s, ended {stream.end.value}"
        )
        for event, count in counts.most_common():
            click.echo(f"      {event}: {count}")
        if stream.tail:
            click.echo(f"    unterminated tail: {len(stream.tail)} bytes")
        if stream.error is not None:
            click.echo(f"    error: {stream.error.type}: {stream.error.message}")


def _show_websocket(websocket: RecordedWebSocket) -> None:
    sent = sum(message.sent for message in websocket.messages)
    click.echo(
        f"    websocket: {len(websocket.messages)} messages ({sent} sent), "
        f"{websocket.duration:.3f}s, {how_it_closed(websocket)}"
    )
    counts = Counter(_kind(message.data) for message in websocket.received())
    for kind, count in counts.most_common():
        click.echo(f"      {kind}: {count}")


def _kind(data: str | bytes) -> str:
    """A received message's event method, ``(reply)`` for a command reply."""
    try:
        message = json.loads(data)
    except ValueError:
        return "(not JSON)"
    event = threads.event_of(message)
    if event is not None:
        return str(event.get("method"))
    return "(reply)" if isinstance(message, dict) and "id" in message else "(other)"
