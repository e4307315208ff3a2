"""``streamcassette proxy``: record the runs any client makes through to a real server."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ._common import project_settings, redaction, redaction_options
from .serve import listen, load_extra, max_body_option, warn_if_exposed

DEFAULT_PORT = 8125


@click.command()
@click.option(
    "--upstream", required=True, metavar="URL", help="The real server, e.g. http://127.0.0.1:2024."
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Interface to listen on (loopback)."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="Port; 0 picks a free one.",
)
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the cassettes (created if missing).",
)
@redaction_options
@max_body_option
def command(
    upstream: str,
    host: str,
    port: int,
    out_dir: Path,
    redact: tuple[str, ...],
    redact_keys: tuple[str, ...],
    redact_paths: tuple[str, ...],
    max_body_mib: float,
) -> None:
    """Pass requests through to --upstream and record one cassette per run into --output.

    Point the JS SDK, curl or a front end at the printed URL instead of the real server.
    Streams reach the client chunk by chunk as the server sends them. Cassettes are named
    <assistant>-<stream modes>-<n>.json; API keys, Authorization, cookies and secret-looking
    JSON keys (api_key, *_api_key, password, access_token, ...) are redacted from them
    (they still reach the server), and so is what [tool.streamcassette] redact,
    redact-keys and redact-paths name. Stop with Ctrl-C.
    """
    hidden = redaction(project_settings(), redact, redact_keys, redact_paths).redactor()
    load_extra()
    from ..serve._proxy import proxy_app
    from ..serve._server import run

    try:
        app = proxy_app(
            upstream,
            out_dir,
            redact=hidden,
            log=_log,
            max_body=int(max_body_mib * (1 << 20)),
        )
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--upstream") from None
    sock = listen(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    click.echo(
        f"streamcassette proxy: http://{shown}:{bound_port} -> {upstream}, "
        f"recording into {out_dir}/"
    )
    warn_if_exposed(host)
    sys.stdout.flush()
    run(app, sock)


def _log(message: str) -> None:
    click.echo(message)
    sys.stdout.flush()
