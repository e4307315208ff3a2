"""``streamcassette learn``: mask rules for the values that differ between two recordings."""

from __future__ import annotations

from pathlib import Path

import click

from .._learn import learn_rules
from ._rules import RULES_HELP, load, settings


@click.command()
@click.argument("first", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("second", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the rules to this TOML file (use it with --rules, or paste it into "
    "pyproject.toml).",
)
@click.option(
    "--rules", type=click.Path(exists=True, dir_okay=False, path_type=Path), help=RULES_HELP
)
def command(first: Path, second: Path, output: Path | None, rules: Path | None) -> None:
    """Learn what differs between FIRST and SECOND, two recordings of the same requests.

    Prints a [tool.streamcassette.mask] table: the rules already in use plus a path rule for
    every value that differs and is not masked yet. With these rules the two recordings compare
    equal; what cannot be masked (a frame in one recording only, a different event) is a
    behaviour difference: it is listed and the exit status is 1.
    """
    project = settings(rules)
    learning = learn_rules(load(first), load(second), project.mask)
    text = learning.to_toml()
    click.echo(text, nl=False)
    if output is not None:
        output.write_text(text, encoding="utf-8")
    count = len(learning.learned)
    summary = f"learned {count} path rule{'s' if count != 1 else ''}"
    if output is not None:
        summary += f", written to {output}"
    if learning.equal:
        click.echo(f"{summary}; with them the recordings compare equal", err=True)
        return
    click.echo(
        f"{summary}; the recordings still differ in {len(learning.remaining)} ways that a mask "
        "cannot hide (behaviour, not noise):",
        err=True,
    )
    for difference in learning.remaining:
        for line in difference.lines():
            click.echo(f"  {line}", err=True)
    raise SystemExit(1)
