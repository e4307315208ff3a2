"""pytest plugin benchmark: overhead per replayed test against a hand-built replay client.

Three suites of the same N tests run in the same benchmark run, each in a fresh pytest
process, alternating, several rounds:

* ``baseline`` -- the plugin disabled (``-p no:streamcassette``); every test builds its
  client by hand with ``replay_sync_client(cassette)`` and streams one run from it;
* ``fixture`` -- the plugin's ``langgraph_sync_client`` fixture, cassette named by the marker;
* ``marker`` -- the marker alone; the test calls ``get_sync_client(url=...)`` itself and
  the plugin wires that client (``CassetteSession.patch_sdk``).

Every suite runs with ``SSL_CERT_FILE`` naming a one-certificate bundle: building an SDK
client otherwise loads the whole CA bundle (~25 ms, as much in every suite, and noisy
enough to drown a 2 ms difference). The plugin's own client fixtures skip that cost in
replay altogether, which this setting hides; ``--real-tls`` runs without it.

The time measured inside each pytest process runs from ``pytest_sessionstart`` to
``pytest_sessionfinish`` (collection, setup, call, teardown, the plugin's reports), so
interpreter start-up and imports, equal for all, stay out. Overhead per test =
(plugin suite - baseline) / N, from the fastest round of each. Target: <= 2 ms.

Run from the repository root::

    .venv/bin/python benchmarks/bench_plugin.py            # 400 tests x 5 rounds
    .venv/bin/python benchmarks/bench_plugin.py --quick    # 30 tests x 1 round (smoke test)

It prints PASS or MISS and exits 0 either way; it exits non-zero only when a suite fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import httpx

from streamcassette import CassetteSession

TARGET_MS = 2.0
INPUT = {"topic": "ice cream"}
FRAMES = [
    b'event: metadata\r\ndata: {"run_id": "1f0c6a52-0a0f-6e1c-9b52-3c1d2f0e8a11", "attempt": 1}'
    b"\r\n\r\n",
    b'event: updates\r\ndata: {"refine_topic": {"topic": "ice cream and cats"}}\r\n\r\n',
    b'event: updates\r\ndata: {"generate_joke": {"joke": "This is a joke about ice cream and '
    b'cats"}}\r\n\r\n',
]

TIMER = textwrap.dedent(
    """
    import json, os, time

    def pytest_sessionstart(session):
        session.config._bench_start = time.perf_counter()

    def pytest_sessionfinish(session):
        elapsed = time.perf_counter() - session.config._bench_start
        with open(os.environ["BENCH_OUT"], "w") as out:
            json.dump({"seconds": elapsed, "failed": session.testsfailed}, out)
    """
)

BODY = """
    parts = list(client.runs.stream(None, "joke", input=INPUT, stream_mode="updates"))
    assert parts[-1].data == {"generate_joke": {"joke": "This is a joke about ice cream and cats"}}
"""

SUITES = {
    "baseline": """
import pytest
from streamcassette import replay_sync_client

INPUT = {input!r}
CASSETTE = {cassette!r}

@pytest.mark.parametrize("n", range({count}))
def test_replay(n):
    client = replay_sync_client(CASSETTE)
{body}
    client.close()
""",
    "fixture": """
import pytest

INPUT = {input!r}

@pytest.mark.parametrize("n", range({count}))
@pytest.mark.stream_cassette("joke")
def test_replay(langgraph_sync_client, n):
    client = langgraph_sync_client
{body}
""",
    "marker": """
import pytest
from langgraph_sdk import get_sync_client

INPUT = {input!r}

@pytest.mark.parametrize("n", range({count}))
@pytest.mark.stream_cassette("joke")
def test_replay(n):
    client = get_sync_client(url="http://127.0.0.1:9", api_key=None)
{body}
    client.close()
""",
}


def record_cassette(path: Path) -> None:
    """Record one stateless stream through the real SDK from an in-memory server."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            stream=httpx.ByteStream(b"".join(FRAMES)),
        )

    session = CassetteSession(path, mode="record")
    client = session.sync_client("http://127.0.0.1:9", api_key=None)
    client.http.client._transport = session.sync_transport(httpx.MockTransport(handler))
    parts = list(client.runs.stream(None, "joke", input=INPUT, stream_mode="updates"))
    assert len(parts) == 3, parts
    session.cassette.provenance["server"] = {"version": "benchmark"}
    session.save()


def make_project(root: Path, count: int) -> dict[str, Path]:
    folders: dict[str, Path] = {}
    for name, template in SUITES.items():
        folder = root / name
        folder.mkdir()
        (folder / "conftest.py").write_text(TIMER)
        cassette = folder / "cassettes" / "test_bench" / "joke.json"
        record_cassette(cassette)
        (folder / "test_bench.py").write_text(
            template.format(input=INPUT, cassette=str(cassette), count=count, body=BODY)
        )
        folders[name] = folder
    return folders


def small_ca_bundle(root: Path) -> Path:
    """A PEM file with the first certificate of certifi's bundle: quick to load."""
    import certifi

    text = Path(certifi.where()).read_text()
    end = "-----END CERTIFICATE-----"
    first = text[text.index("-----BEGIN CERTIFICATE-----") : text.index(end) + len(end)]
    path = root / "one-ca.pem"
    path.write_text(first + "\n")
    return path


def run_suite(name: str, folder: Path, ca_bundle: Path | None) -> float:
    out = folder / "result.json"
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    args += ["-p", "no:hypothesispytest", "-p", "no:langsmith_plugin", "-p", "no:xdist"]
    if name == "baseline":
        args += ["-p", "no:streamcassette"]
    env = {**os.environ, "BENCH_OUT": str(out)}
    if ca_bundle is not None:
        env["SSL_CERT_FILE"] = str(ca_bundle)
    done = subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} suite failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}")
    result = json.loads(out.read_text())
    seconds: float = result["seconds"]
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="30 tests x 1 round")
    parser.add_argument(
        "--real-tls", action="store_true", help="let every SDK client load the full CA bundle"
    )
    options = parser.parse_args()
    count, rounds = (30, 1) if options.quick else (options.tests, options.rounds)
    with tempfile.TemporaryDirectory(prefix="bench-plugin-") as temp:
        folders = make_project(Path(temp), count)
        ca_bundle = None if options.real_tls else small_ca_bundle(Path(temp))
        times: dict[str, list[float]] = {name: [] for name in folders}
        for _round in range(rounds):
            for name, folder in folders.items():
                times[name].append(run_suite(name, folder, ca_bundle))
    best = {name: min(values) for name, values in times.items()}
    per_test = {name: best[name] / count * 1000 for name in best}
    print(f"{count} replayed tests per suite, best of {rounds} rounds (ms per test):")
    for name in folders:
        print(f"  {name:<9} {per_test[name]:7.3f} ms")
    worst = 0.0
    for name in ("fixture", "marker"):
        overhead = per_test[name] - per_test["baseline"]
        worst = max(worst, overhead)
        ratio = per_test[name] / per_test["baseline"]
        print(
            f"plugin overhead ({name}): {overhead:+.3f} ms per test "
            f"({ratio:.2f} x the hand-built replay client)"
        )
    verdict = "PASS" if worst <= TARGET_MS else "MISS"
    print(f"target <= {TARGET_MS:g} ms per test: {verdict}")


if __name__ == "__main__":
    main()
