"""``streamcassette serve``: answer LangGraph API requests from cassettes, over HTTP."""

from __future__ import annotations

import ipaddress
import math
import sys
from pathlib import Path
from typing import Any

import click

from .._errors import StreamCassetteError
from ..serve import Library, LibraryError, MissingExtraError, require_extra
from ._common import Failed

DEFAULT_PORT = 8124


def parse_speed(ctx: click.Context, param: click.Parameter, value: str) -> float | None:
    """A positive number (1 = recorded timing, 4 = four times faster), or ``instant``: None."""
    if value.lower() in ("instant", "inf"):
        return None
    try:
        speed = float(value)
    except ValueError:
        msg = f"{value!r} is neither a number nor 'instant'"
        raise click.BadParameter(msg) from None
    if not speed > 0:
        msg = f"{value!r} must be positive (or 'instant')"
        raise click.BadParameter(msg)
    return speed


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_extra() -> None:
    """Fail as a clean CLI error when the ``serve`` extra is not installed."""
    try:
        require_extra()
    except MissingExtraError as exc:
        raise click.ClickException(str(exc)) from None


def listen(host: str, port: int) -> Any:
    from ..serve._server import bind

    try:
        return bind(host, port)
    except OSError as exc:
        msg = f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port"
        raise click.ClickException(msg) from None


def warn_if_exposed(host: str) -> None:
    if not is_loopback(host):
        click.echo(
            f"warning: listening on {host}, not loopback: other machines can reach this server",
            err=True,
        )


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value):  # FloatRange lets nan and inf through
        raise click.BadParameter(f"{value} is not a number of MiB", ctx=ctx, param=param)
    return value


max_body_option = click.option(
    "--max-body-mib",
    type=click.FloatRange(min=0, min_open=True),
    callback=_finite,
    default=4,
    show_default=True,
    help="Refuse request bodies larger than this many MiB with a 413.",
)


@click.command()
@click.argument(
    "source", metavar="CASSETTE_OR_FOLDER", type=click.Path(exists=True, path_type=Path)
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Interface to listen on (loopback)."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port; 0 picks a free one. Use 2024 to stand in for `langgraph dev`.",
)
@click.option(
    "--speed",
    metavar="X|instant",
    default="1",
    callback=parse_speed,
    show_default=True,
    help="Frame timing: 1 as recorded, 4 four times faster, 'instant' without waiting.",
)
@max_body_option
def command(source: Path, host: str, port: int, speed: float | None, max_body_mib: float) -> None:
    """Serve the runs recorded in CASSETTE_OR_FOLDER as a LangGraph API server.

    Point the JS or Python SDK, curl or a front end at the printed URL. A run is picked by
    assistant, input and stream mode; ids the client mints (message and thread ids) are
    served back in place of the recorded ones, and thread state, history, runs and
    assistants that were not recorded are built from the recorded runs. To pick a cassette
    explicitly, use URL/cassettes/<name> as the API URL or send an
    x-streamcassette-cassette header. GET /cassettes lists what is recorded. Stop with Ctrl-C.
    """
    load_extra()
    from ..serve._app import replay_app
    from ..serve._server import run

    try:
        library = Library.load(source)
    except (LibraryError, StreamCassetteError, OSError) as exc:
        raise Failed(str(exc)) from None
    app = replay_app(library, speed=speed, max_body=int(max_body_mib * (1 << 20)))
    sock = listen(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    timing = "instant" if speed is None else f"speed {speed:g}"
    click.echo(
        f"streamcassette serve: {len(library.runs)} runs from {len(library.names)} "
        f"cassette(s) in {source}, {timing}, on http://{shown}:{bound_port}"
    )
    for recorded in library.runs:
        click.echo(f"  {recorded.describe()}")
    warn_if_exposed(host)
    sys.stdout.flush()
    run(app, sock)
