"""What a wheel of streamcassette ships: every package of the source tree."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def source_packages() -> set[str]:
    """Dotted names of the packages under streamcassette/ (those with an __init__.py)."""
    return {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "streamcassette").rglob("__init__.py")
    }


def test_every_package_of_the_source_tree_is_in_the_wheel() -> None:
    """A subpackage missing from [tool.setuptools] packages would be left out of the wheel
    (the editable install the tests use finds it anyway), so the lists must agree."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    mapped = setuptools["package-dir"]
    assert source_packages() <= listed, source_packages() - listed
    assert mapped["streamcassette_pytest"] == "pytest_plugin"
    assert (ROOT / mapped["streamcassette.bundled"] / "__init__.py").is_file()
    assert listed == source_packages() | {"streamcassette.bundled", "streamcassette_pytest"}
