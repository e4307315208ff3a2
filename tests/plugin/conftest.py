"""Fixtures for the plugin tests: the inner suite, recorded once per session."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from plugin_helpers import INNER_INI, INNER_SUITE


@pytest.fixture(scope="session")
def recorded_suite(tmp_path_factory: pytest.TempPathFactory, langgraph_url: str) -> Path:
    """A folder holding the inner suite and its cassettes, recorded once per session."""
    root = tmp_path_factory.mktemp("recorded-suite")
    (root / "pytest.ini").write_text(INNER_INI)
    (root / "test_jokes.py").write_text(INNER_SUITE)
    result = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"),
            *("--record-streams", "--langgraph-url", langgraph_url),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return root
