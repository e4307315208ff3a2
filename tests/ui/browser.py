"""A real browser for the UI tests: Debian's Chromium driven by puppeteer-core (driver.mjs).

``bundle`` builds the chat pages (src/) with esbuild; ``PageServer`` serves them on a free
loopback port; ``Browser`` is one headless Chromium (one per test session) in which each
``open`` is a fresh browser context, i.e. a fresh profile; ``Page`` clicks, types, waits and
reads what the chat shows, its history of DOM states, console errors and failed requests.
Every process started here is stopped by its process group.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

UI_DIR = Path(__file__).parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = UI_DIR / "artifacts"
LOOPBACK = "127.0.0.1"


def node() -> str:
    """The node executable; missing node or packages fail the test (never skip)."""
    found = shutil.which("node")
    if found is None:
        pytest.fail("node is not on PATH: the browser tests need node 20+ (then scripts/setup.sh)")
    if not (UI_DIR / "node_modules" / "puppeteer-core").is_dir():
        pytest.fail("the browser test packages are missing: run scripts/setup.sh (npm ci tests/ui)")
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/setup.sh as root (apt-get chromium)")
    return found


def bundle(out_dir: Path) -> Path:
    """Bundle the chat pages into ``out_dir`` (classic.html, v3.html and their scripts)."""
    proc = subprocess.run(
        [node(), str(UI_DIR / "build.mjs"), str(out_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, f"bundling the chat pages failed:\n{proc.stdout}{proc.stderr}"
    return out_dir


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class PageServer:
    """The bundled pages over HTTP on a free loopback port, in a daemon thread."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.httpd = http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)
        self.url = f"http://{LOOPBACK}:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> PageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def page(self, name: str, api: str, assistant: str, **query: str) -> str:
        """The URL of page ``name`` (classic or v3) talking to ``api`` about ``assistant``."""
        params = "&".join(f"{key}={value}" for key, value in {"api": api, **query}.items())
        return f"{self.url}/{name}.html?{params}&assistant={assistant}"


class BrowserError(AssertionError):
    """The driver reported a failed command (the message has its stack)."""


class Browser:
    """One headless Chromium for the session; ``open`` gives a page in a fresh profile."""

    def __init__(self, artifacts: Path = ARTIFACTS) -> None:
        self.artifacts = artifacts
        self.profile = tempfile.mkdtemp(prefix="streamcassette-chromium-")
        self.process = subprocess.Popen(
            [node(), str(UI_DIR / "driver.mjs"), str(CHROMIUM), self.profile],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: Chromium's processes included
        )
        self.answers: queue.Queue[str | None] = queue.Queue()
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        self._ids = 0

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.answers.put(line)
        self.answers.put(None)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def command(self, op: str, timeout: float = 60.0, **fields: Any) -> dict[str, Any]:
        """Send one command to the driver and return its answer."""
        assert self.process.stdin is not None
        self._ids += 1
        self.process.stdin.write(json.dumps({"id": self._ids, "op": op, **fields}) + "\n")
        self.process.stdin.flush()
        try:
            line = self.answers.get(timeout=timeout)
        except queue.Empty:
            msg = f"the browser driver did not answer {op} within {timeout:g} s"
            raise BrowserError(msg) from None
        if line is None:
            msg = f"the browser driver exited during {op}:\n{''.join(self.stderr[-30:])}"
            raise BrowserError(msg)
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            msg = f"browser {op} {fields} failed: {answer.get('error')}"
            raise BrowserError(msg)
        return answer

    def open(self, url: str) -> Page:
        """``url`` in a new browser context: no storage shared with any other page."""
        return Page(self, self.command("open", url=url)["page"])

    def close(self) -> None:
        with contextlib.suppress(BrowserError, OSError, ValueError):
            self.command("quit", timeout=15)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        shutil.rmtree(self.profile, ignore_errors=True)


class Page:
    """A chat page open in the browser."""

    def __init__(self, browser: Browser, page_id: int) -> None:
        self.browser = browser
        self.id = page_id

    def _do(self, op: str, timeout: float = 60.0, **fields: Any) -> dict[str, Any]:
        return self.browser.command(op, timeout=timeout, page=self.id, **fields)

    def submit(self, text: str) -> None:
        """Type ``text`` into the Submit box and press Submit."""
        self._do("type", selector='[data-testid="input"]', text=text)
        self._do("click", selector='[data-testid="submit"]')

    def click(self, selector: str) -> None:
        self._do("click", selector=selector)

    def wait_for(self, expression: str, timeout: float = 30.0) -> None:
        """Wait until the JavaScript ``expression`` is truthy in the page."""
        try:
            self._do(
                "waitFor", timeout=timeout + 10, expression=expression, timeoutMs=timeout * 1000
            )
        except BrowserError as exc:
            msg = f"the page never made {expression!r} true; it shows {self.snapshot()}\n{exc}"
            raise BrowserError(msg) from None

    def wait_until(self, condition: str, timeout: float = 30.0) -> None:
        """Wait until ``condition``, a JS expression over ``s`` (the chat snapshot), holds."""
        self.wait_for(
            f"(() => {{ const s = window.__chatSnapshot(); return {condition}; }})()", timeout
        )

    def snapshot(self) -> dict[str, Any]:
        """What the chat shows now: status, thread, messages, interrupt, values."""
        snapshot: dict[str, Any] = self._do("snapshot")["snapshot"]
        return snapshot

    def timeline(self) -> list[dict[str, Any]]:
        """Every distinct snapshot since the page loaded, each with its time (ms)."""
        timeline: list[dict[str, Any]] = self._do("timeline")["timeline"]
        return timeline

    def events(self) -> dict[str, list[str]]:
        """Console and page errors, 4xx/5xx responses, failed and all requests."""
        events: dict[str, list[str]] = self._do("events")["events"]
        return events

    def reload(self) -> None:
        self._do("reload")

    def screenshot(self, name: str) -> Path:
        """Keep a screenshot under tests/ui/artifacts/ (git-ignored)."""
        self.browser.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.browser.artifacts / f"{name}.png"
        self._do("screenshot", path=str(path))
        return path

    def close(self) -> None:
        self._do("close")
