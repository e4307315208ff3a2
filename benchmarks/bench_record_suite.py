"""Recording a plugin suite: ``pytest --record-streams`` against pytest-recording (vcrpy) on
the same tests and the same server, as a ratio measured in the same run.

A generated suite of N small tests (default 200), each streaming one short run of the
``joke`` graph through a module-level sync SDK client (built at import, as apps do), is
recorded from one real ``langgraph dev`` (tests/graphs, a free loopback port, stopped at the
end) twice per round, each in a fresh pytest process:

* ``streamcassette`` -- ``pytest --record-streams --langgraph-url URL``, every test marked
  ``@pytest.mark.stream_cassette``;
* ``pytest-recording`` -- ``pytest --record-mode=all``, every test marked ``@pytest.mark.vcr``.

Each process runs with only its own recording plugin (``-p no:`` the other). The figure is
the wall time of the whole ``pytest`` command, best of the rounds (3 by default), the two
alternating which goes first; every cassette is deleted before each run, and each run must
pass and write one cassette per test. Target: the plugin's time <= pytest-recording's.

Needs pytest-recording and vcrpy, which streamcassette does not depend on::

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/bench_record_suite.py            # 200 tests x 3 rounds

It prints PASS or MISS and exits 0 either way; it exits non-zero when a suite fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import streamcassette
from streamcassette.devserver import LangGraphDevServer

REPO = Path(__file__).resolve().parent.parent
GRAPHS = REPO / "tests" / "graphs" / "langgraph.json"

SUITE = """
import os

import pytest
from langgraph_sdk import get_sync_client

client = get_sync_client(url=os.environ["BENCH_LANGGRAPH_URL"], api_key=None)
JOKE = {{"generate_joke": {{"joke": "This is a joke about ice cream and cats"}}}}


@pytest.mark.parametrize("n", range({count}))
@pytest.mark.{marker}
def test_joke(n):
    parts = list(
        client.runs.stream(None, "joke", input={{"topic": "ice cream"}}, stream_mode="updates")
    )
    assert parts[-1].data == JOKE
"""

# name: (marker, the suite's own options, the other recorder's plugin switched off)
RECORDERS = {
    "streamcassette": ("stream_cassette", ["--record-streams"], "recording"),
    "pytest-recording": ("vcr", ["--record-mode=all"], "streamcassette"),
}
QUIET = ["-p", "no:cacheprovider", "-p", "no:xdist", "-p", "no:hypothesispytest"]
QUIET += ["-p", "no:langsmith_plugin", "-p", "no:randomly"]


def make_suites(root: Path, count: int) -> dict[str, Path]:
    folders: dict[str, Path] = {}
    for name, (marker, _options, _other) in RECORDERS.items():
        folder = root / name
        folder.mkdir()
        (folder / "test_suite.py").write_text(SUITE.format(count=count, marker=marker))
        folders[name] = folder
    return folders


def record(name: str, folder: Path, url: str, count: int) -> float:
    """Seconds the ``pytest`` command took to record the suite from scratch."""
    _marker, options, other = RECORDERS[name]
    shutil.rmtree(folder / "cassettes", ignore_errors=True)
    args = [sys.executable, "-m", "pytest", "-q", *QUIET, "-p", f"no:{other}", *options]
    if name == "streamcassette":
        args += ["--langgraph-url", url]
    env = {**os.environ, "BENCH_LANGGRAPH_URL": url}
    start = time.perf_counter()
    done = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{name} suite failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    written = [path for path in (folder / "cassettes").rglob("*") if path.is_file()]
    if len(written) != count:
        msg = f"{name} wrote {len(written)} cassettes for {count} tests:\n{done.stdout[-2000:]}"
        raise SystemExit(msg)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    if importlib.util.find_spec("pytest_recording") is None:
        raise SystemExit(
            "pytest-recording is not installed: .venv/bin/pip install -e '.[bench]' "
            "(or pip install pytest-recording vcrpy)"
        )
    import vcr

    count = options.tests
    print(
        f"streamcassette {streamcassette.__version__}, vcrpy {vcr.__version__}, "
        f"Python {sys.version.split()[0]}: {count} tests, best of {options.rounds} rounds"
    )
    times: dict[str, list[float]] = {name: [] for name in RECORDERS}
    with (
        tempfile.TemporaryDirectory(prefix="bench-record-suite-") as temp,
        LangGraphDevServer(GRAPHS) as server,
    ):
        folders = make_suites(Path(temp), count)
        names = list(RECORDERS)
        for round_ in range(options.rounds):
            for name in names if round_ % 2 == 0 else names[::-1]:
                times[name].append(record(name, folders[name], server.url, count))
    best = {name: min(values) for name, values in times.items()}
    for name in RECORDERS:
        runs = ", ".join(f"{value:.2f}" for value in times[name])
        print(f"  {name:<17} {best[name]:6.2f} s  ({runs})")
    ratio = best["streamcassette"] / best["pytest-recording"]
    verdict = "PASS" if ratio <= 1.0 else "MISS"
    print(f"recording {count} tests: streamcassette / pytest-recording = {ratio:.3f}x")
    print(f"target <= 1.0x: {verdict}")


if __name__ == "__main__":
    main()
