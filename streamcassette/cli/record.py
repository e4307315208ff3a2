"""``streamcassette record``: run a graph on a live server, print its events, save a cassette."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import click

from .._format import ATTACH_FROM, attached_file
from .._sdk import CassetteSession
from ._common import parse_json_option
from ._threads import EventPrinter, run_session
from .play import print_part


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
    "--mode",
    "modes",
    multiple=True,
    default=("updates",),
    show_default=True,
    help="Stream mode; repeat for several (values, updates, messages-tuple, debug, ...).",
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
@click.option(
    "--redact",
    multiple=True,
    metavar="NAME",
    help="Another header or query parameter whose value must not be written.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Cassette to write [default: cassettes/<assistant>-<modes>.json].",
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
    modes: tuple[str, ...],
    thread: bool,
    thread_id: str | None,
    subgraphs: bool,
    resumable: bool,
    redact: tuple[str, ...],
    output: Path | None,
    attach: bool | None,
    protocol: str,
    transport: str,
    quiet: bool,
) -> None:
    """Record one run of ASSISTANT on the LangGraph server at URL into a cassette.

    The API key, if the server needs one, is read from LANGGRAPH_API_KEY (or
    LANGSMITH_API_KEY) as the SDK does; it is redacted from the cassette.
    """
    run_input = parse_json_option(input_json, "--input")
    run_command = parse_json_option(command_json, "--command")
    if protocol == "threads":
        target = output or default_output(assistant, ("threads", transport))
    else:
        target = output or default_output(assistant, modes)
    session = CassetteSession(target, mode="record", redact=redact)

    async def record_threads() -> int:
        with session.patch_sdk():
            client = session.client(url)
            try:
                return await run_session(
                    client,
                    assistant,
                    run_input,
                    thread_id=thread_id,
                    transport="websocket" if transport == "ws" else "sse",
                    printer=None if quiet else EventPrinter(),
                )
            finally:
                await client.aclose()

    async def record() -> int:
        client = session.client(url)
        try:
            run_thread = thread_id
            if run_thread is None and thread:
                run_thread = (await client.threads.create())["thread_id"]
            kwargs: dict[str, Any] = {
                "input": run_input,
                "stream_mode": list(modes) if len(modes) > 1 else modes[0],
                "stream_subgraphs": subgraphs,
                "stream_resumable": resumable,
            }
            if run_command is not None:
                kwargs["command"] = run_command
            count = 0
            async for part in client.runs.stream(run_thread, assistant, **kwargs):
                count += 1
                if not quiet:
                    print_part(part.event, part.data)
            return count
        finally:
            await client.aclose()

    if "LANGSMITH_API_KEY" in os.environ and "LANGGRAPH_API_KEY" not in os.environ:
        click.echo("using LANGSMITH_API_KEY from the environment (redacted)", err=True)
    count = asyncio.run(record_threads() if protocol == "threads" else record())
    path = session.save(attach=attach)
    attached = attached_file(path)
    where = f" (frames attached in {attached.name})" if attached is not None else ""
    click.echo(f"recorded {count} events into {path}{where}", err=True)
