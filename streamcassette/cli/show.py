"""``streamcassette show``: what a cassette holds, at a glance."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from .._cassette import AttachedFrames
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
