"""``streamcassette diff``: what an agent did differently, after masking volatile values."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .._diff import KNOWN_MODES, POLICIES, diff_cassettes
from ..protocols import default_modes
from ._common import Failed
from ._rules import RULES_HELP, load, settings


@click.command()
@click.argument("recorded", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("live", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--mode",
    "modes",
    multiple=True,
    metavar="MODE",
    help=(
        f"An event type to compare; repeat for several. One of {', '.join(KNOWN_MODES)}, or an "
        "event-name glob ('updates|node_2:*', '*'). Default: the project's, else updates (for "
        "v3 thread sessions: values, updates, tools, custom, lifecycle, input)."
    ),
)
@click.option(
    "--policy",
    type=click.Choice(POLICIES),
    default=None,
    help="exact (default), or structure: nodes, state keys, message types and tool calls, "
    "not free text (for nodes driven by a real LLM).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--rules", type=click.Path(exists=True, dir_okay=False, path_type=Path), help=RULES_HELP
)
@click.option(
    "--color/--no-color", default=None, help="Colour the report (default: only on a terminal)."
)
def command(
    recorded: Path,
    live: Path,
    modes: tuple[str, ...],
    policy: str | None,
    as_json: bool,
    rules: Path | None,
    color: bool | None,
) -> None:
    """Compare the streams of RECORDED and LIVE cassettes; exit 1 when they differ.

    Streams pair up by order. Frames are aligned first, so a node that ran in one stream only,
    an extra frame or a changed order is reported as such; then fields of aligned frames.
    """
    project = settings(rules)
    first, second = load(recorded), load(live)
    try:
        report = diff_cassettes(
            first,
            second,
            modes=modes or project.modes or default_modes((first, second)),
            policy=policy or project.policy,  # type: ignore[arg-type]
            rules=project.mask,
        )
    except ValueError as exc:
        raise Failed(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        # Coloured text; click drops the colour codes when stdout is not a terminal.
        click.echo(report.render_text(color=True), nl=False, color=color)
    raise SystemExit(0 if report.equal else 1)
