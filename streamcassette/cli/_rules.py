"""What the diff, mask and learn commands share: settings, rules, and errors that exit 2."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from .._cassette import Cassette
from .._config import ConfigError, StreamCassetteConfig, read_config
from ._common import Failed, load_or_fail, project_settings

RULES_HELP = (
    "A TOML file with a [tool.streamcassette.mask] table (as `streamcassette learn` writes) "
    "whose rules replace the project's. Default: the nearest pyproject.toml's."
)


def settings(rules: Path | None) -> StreamCassetteConfig:
    """The project's settings (nearest pyproject.toml), with the mask rules of ``rules``."""
    project = project_settings()
    if rules is None:
        return project
    try:
        return replace(project, mask=read_config(rules).mask)
    except ConfigError as exc:
        raise Failed(str(exc)) from None


def load(path: Path) -> Cassette:
    return load_or_fail(path)
