"""``streamcassette mask``: a cassette's streams as the diff sees them, volatile values masked."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .._diff import _selector, _stream_mode
from .._masked import mask_cassette
from ._rules import RULES_HELP, load, settings


@click.command()
@click.argument("cassette", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--mode",
    "modes",
    multiple=True,
    metavar="MODE",
    help="Only events of this mode (repeat for several; globs work). Default: every event.",
)
@click.option("--stream", "streams", type=int, multiple=True, help="Only the Nth stream (from 0).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of SSE-like text.")
@click.option(
    "--rules", type=click.Path(exists=True, dir_okay=False, path_type=Path), help=RULES_HELP
)
def command(
    cassette: Path,
    modes: tuple[str, ...],
    streams: tuple[int, ...],
    as_json: bool,
    rules: Path | None,
) -> None:
    """Print CASSETTE's SSE streams masked: each volatile value replaced by a placeholder
    numbered by kind in order of first appearance (<uuid:1>, <tool_call:1>, <timestamp>)."""
    project = settings(rules)
    selectors = [_selector(mode) for mode in modes]

    def wanted(name: str | None) -> bool:
        return not selectors or any(selected(name or "message") for selected in selectors)

    # Only the chosen modes' events, numbered among themselves, as the diff numbers them.
    masked = mask_cassette(load(cassette), project.mask, events=wanted if selectors else None)
    if streams:
        missing = [n for n in streams if not 0 <= n < len(masked)]
        if missing:
            msg = (
                f"{cassette} has {len(masked)} streams (0 to {len(masked) - 1}); "
                f"there is no stream {missing[0]}"
            )
            raise click.UsageError(msg)
    chosen = [(n, stream) for n, stream in enumerate(masked) if not streams or n in streams]

    if as_json:
        out = []
        for number, stream in chosen:
            entry = stream.to_json()
            entry["stream"] = number
            entry["frames"] = [f.to_json() for f in stream.frames if wanted(f.name)]
            out.append(entry)
        click.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    for number, stream in chosen:
        text = stream.text() if not selectors else _filtered_text(stream, wanted)
        click.echo(f"# stream {number}")
        click.echo(text)


def _filtered_text(stream: object, wanted: object) -> str:
    from .._masked import MaskedStream

    assert isinstance(stream, MaskedStream)
    assert callable(wanted)
    lines = [f"# interaction {stream.interaction}: {stream.request_line}"]
    for frame in stream.frames:
        if not wanted(frame.name):
            continue
        lines.append(f"# frame {frame.index} ({_stream_mode(frame.name)})")
        lines += frame.sse_lines()
        lines.append("")
    return "\n".join(lines)
