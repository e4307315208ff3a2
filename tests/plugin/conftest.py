"""Fixtures for the plugin tests: the inner suite, recorded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugin_helpers import INNER_SUITE, record_inner_suite


@pytest.fixture(scope="session")
def recorded_suite(tmp_path_factory: pytest.TempPathFactory, langgraph_url: str) -> Path:
    """A folder holding the inner suite and its cassettes, recorded once per session."""
    root = tmp_path_factory.mktemp("recorded-suite")
    return record_inner_suite(root, "test_jokes", INNER_SUITE, langgraph_url)
