"""Helpers shared by the CLI commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import click

from .._cassette import Cassette
from .._config import ConfigError, StreamCassetteConfig, load_config
from .._errors import StreamCassetteError
from .._format import load
from .._redact import Redactor

DEMO_CASSETTE = "weather_agent.json"


def bundled_cassette(name: str = DEMO_CASSETTE) -> Path:
    """A cassette shipped with the package (the repository's cassettes/ folder)."""
    try:
        return Path(str(resources.files("streamcassette.bundled").joinpath(name)))
    except ModuleNotFoundError:
        # Run from a source checkout that is not installed: the folder is next door.
        return Path(__file__).resolve().parents[2] / "cassettes" / name


class Failed(click.ClickException):
    """A command that could not do its job with what it was given (an unreadable cassette, a
    bad setting): exit status 2, as for a usage error. Status 1 is each command's own "no"
    (``diff``: the streams differ; ``record``: the run did not record)."""

    exit_code = 2


def load_or_fail(path: Path) -> Cassette:
    """Load a cassette, turning its errors into a clean CLI error (exit 2)."""
    try:
        return load(path)
    except (StreamCassetteError, OSError) as exc:
        raise Failed(str(exc)) from None


def parse_json_option(value: str | None, option: str) -> Any:
    if value is None:
        return None
    try:
        return json.loads(value)
    except ValueError as exc:
        msg = f"{option} must be JSON: {exc}"
        raise click.BadParameter(msg) from None


F = TypeVar("F", bound=Callable[..., Any])


def redaction_options(command: F) -> F:
    """``--redact``, ``--redact-key`` and ``--redact-path``: what to keep out of a cassette
    besides the defaults and ``[tool.streamcassette]``'s ``redact``, ``redact-keys`` and
    ``redact-paths``."""
    for option in reversed(
        [
            click.option(
                "--redact",
                multiple=True,
                metavar="NAME",
                help="Another header or query parameter whose value must not be written.",
            ),
            click.option(
                "--redact-key",
                "redact_keys",
                multiple=True,
                metavar="KEY",
                help="Another JSON key whose values must not be written (bodies, frames).",
            ),
            click.option(
                "--redact-path",
                "redact_paths",
                multiple=True,
                metavar="GLOB",
                help="A JSON-path glob whose values must not be written, e.g. "
                "'config.configurable.tenant' or '**.credentials[*]'.",
            ),
        ]
    ):
        command = option(command)
    return command


def project_settings() -> StreamCassetteConfig:
    """The ``[tool.streamcassette]`` table of the project the command runs in."""
    try:
        return load_config(Path.cwd())
    except ConfigError as exc:
        raise Failed(str(exc)) from None


class Redaction(NamedTuple):
    """What a recording keeps out besides the defaults: header and query names, JSON keys,
    JSON-path globs (the project's settings, then the command's options)."""

    names: tuple[str, ...]
    keys: tuple[str, ...]
    paths: tuple[str, ...]

    def redactor(self) -> Redactor:
        return Redactor(self.names, keys=self.keys, paths=self.paths)


def redaction(
    project: StreamCassetteConfig,
    redact: tuple[str, ...],
    keys: tuple[str, ...],
    paths: tuple[str, ...],
) -> Redaction:
    """The project's ``redact``, ``redact-keys`` and ``redact-paths`` with the options'."""
    found = Redaction(
        (*project.redact, *redact), (*project.redact_keys, *keys), (*project.redact_paths, *paths)
    )
    try:
        Redactor(paths=found.paths)  # reads the globs
    except ValueError as exc:  # a glob it cannot read
        raise click.BadParameter(str(exc), param_hint="--redact-path") from None
    return found
