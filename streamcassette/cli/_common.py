"""Helpers shared by the CLI commands."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import click

from .._cassette import Cassette
from .._errors import StreamCassetteError
from .._format import load

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
