"""The ``streamcassette`` command line: one module per command, gathered here."""

from __future__ import annotations

import importlib

import click

__all__ = ["main"]

# name -> module under streamcassette.cli that defines a click command called ``command``.
_COMMANDS = {
    "record": "record",
    "play": "play",
    "show": "show",
    "serve": "serve",
    "proxy": "proxy",
    "diff": "diff",
    "mask": "mask",
    "learn": "learn",
}


class _LazyGroup(click.Group):
    """Imports a command's module only when it runs, so ``--help`` and each command start fast."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = _COMMANDS.get(cmd_name)
        if module is None:
            return None
        command = importlib.import_module(f"{__name__}.{module}").command
        assert isinstance(command, click.Command)
        return command


@click.group(cls=_LazyGroup)
@click.version_option(package_name="streamcassette")
def main() -> None:
    """Record, replay and diff the SSE streams of LangGraph API servers."""
