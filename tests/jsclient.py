"""Helpers for the tests that drive real clients: the JS SDK (tests/js/client.mjs), curl, CLI."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from streamcassette.devserver import free_port

JS_DIR = Path(__file__).parent / "js"


def node() -> str:
    """The node executable; a missing node or JS SDK fails the test (it never skips)."""
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is not on PATH: the JS SDK tests need node 20+ (then scripts/setup.sh)")
    if not (JS_DIR / "node_modules" / "@langchain" / "langgraph-sdk").is_dir():
        pytest.fail("the JS SDK is not installed: run scripts/setup.sh (npm ci --prefix tests/js)")
    return found


def _node_flags() -> list[str]:
    """Node 20 has a WebSocket (for the JS SDK's v3 WebSocket transport) behind a flag."""
    version = subprocess.run(
        [node(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    major = int(version.strip().lstrip("v").split(".")[0])
    return ["--experimental-websocket"] if major < 22 else []


def run_js(api_url: str, steps: list[dict[str, Any]], headers: dict[str, str] | None = None):
    """Run a plan through the JS SDK; returns the steps it printed (ops, results, parts)."""
    plan = {"apiUrl": api_url, "headers": headers or {}, "steps": steps}
    proc = subprocess.run(
        [node(), *_node_flags(), str(JS_DIR / "client.mjs"), json.dumps(plan)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"JS SDK plan failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(proc.stdout)["steps"]


def curl(*args: str) -> bytes:
    """Run curl (no proxy from the environment: loopback only) and return its stdout bytes."""
    found = shutil.which("curl")
    if found is None:
        pytest.fail("curl is not on PATH")
    proc = subprocess.run(
        [found, "--silent", "--show-error", "--noproxy", "*", "--max-time", "60", *args],
        capture_output=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


@contextmanager
def cli(*args: str, cwd: Path | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Run ``streamcassette ARGS --port <free>`` (in ``cwd``) and yield (its URL, the process)
    once it listens.

    The command binds its socket before printing the URL, so connections made after that
    line wait in the backlog until the server accepts them.
    """
    port = free_port()
    # The installed console script: the command line exactly as users run it.
    executable = Path(sys.executable).parent / "streamcassette"
    command = [str(executable), *args, "--port", str(port)]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        cwd=cwd,
    ) as process:
        try:
            assert process.stdout is not None
            first = process.stdout.readline()
            url = f"http://127.0.0.1:{port}"
            if url not in first:
                stop(process)
                pytest.fail(f"{command} printed {first!r}; stderr:\n{process.stderr.read()}")
            yield url, process
        finally:
            stop(process)


def stop(process: subprocess.Popen[str]) -> int:
    """Ctrl-C (SIGINT) the process, as a user stops it; kill it if it does not exit."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def sdk_part(part: Any) -> dict[str, Any]:
    """A Python SDK StreamPart in the JS SDK's shape, to compare what the two saw."""
    return {"id": getattr(part, "id", None), "event": part.event, "data": part.data}
