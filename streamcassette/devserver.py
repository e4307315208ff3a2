"""Run a real LangGraph dev server on a free loopback port, for recording and for tests.

Two servers, one way to start, wait for and stop them: ``langgraph dev`` (Python,
``langgraph-cli[inmem]``) for Python graphs, and the JavaScript server that
``npx @langchain/langgraph-cli dev`` runs, from the project's own ``node_modules``, for a
``langgraph.json`` whose graphs are JavaScript or TypeScript files (or that names a
``node_version``). Both get analytics and tracing off and no browser.

POSIX only: the server runs in its own process group so that ``stop()`` also ends the
worker processes it spawns.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

__all__ = [
    "DevServerError",
    "LangGraphDevServer",
    "ServerChoice",
    "config_server",
    "find_langgraphjs_executable",
]

# "auto": what the langgraph.json describes (see ``config_server``).
ServerChoice = Literal["auto", "python", "js"]

HOST = "127.0.0.1"
# The server's own default; never ours, so a developer's running server is never hit.
_RESERVED_PORT = 2024
_LOG_NAME = "langgraph-dev.log"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# Graph files the JavaScript server loads (it compiles TypeScript itself).
_JS_SUFFIXES = (".ts", ".mts", ".cts", ".tsx", ".js", ".mjs", ".cjs", ".jsx")
# The JavaScript CLI's executable, as ``npx @langchain/langgraph-cli`` finds it.
_JS_CLI = Path("node_modules") / ".bin" / "langgraphjs"
# ``langgraph dev`` silently moves to another port when the requested one is taken, and
# announces the port it really uses in its welcome banner (the JavaScript server too).
_ANNOUNCED = re.compile(r"API: (http://[^\s/]+:(\d+))")
# Loopback only: a proxy from the environment must not see (or swallow) these requests.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Inherited environment values that would make the server talk to the outside world.
_ENV_REMOVED = (
    # Any of these keys switches on LangSmith tracing and the usage-metadata loop.
    "LANGSMITH_API_KEY",
    "LANGCHAIN_API_KEY",
    "LANGSMITH_CONTROL_PLANE_API_KEY",
    "LANGGRAPH_CLOUD_LICENSE_KEY",
    # Either one switches OpenTelemetry export on.
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)
_ENV_FORCED = {
    "LANGSMITH_TRACING": "false",
    "LANGSMITH_TRACING_V2": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGCHAIN_TRACING": "false",
    # The CLI posts usage analytics from a background thread unless this is "1".
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",
    # Otherwise the server asks PyPI whether a newer langgraph-api exists.
    "LANGGRAPH_NO_VERSION_CHECK": "true",
    "OTEL_ENABLED": "false",
    "OTEL_SDK_DISABLED": "true",
    "LANGGRAPH_METRICS_ENABLED": "false",
    # Keep the log file readable and current for ``log_tail``.
    "LOG_COLOR": "false",
    "PYTHONUNBUFFERED": "1",
}


class DevServerError(RuntimeError):
    """The dev server could not start, exited, or did not become ready in time."""


def free_port(host: str = HOST) -> int:
    """Return a port on ``host`` that nothing listens on right now (never 2024)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((host, 0))
            port: int = sock.getsockname()[1]
        if port != _RESERVED_PORT:
            return port


def find_langgraph_executable() -> str:
    """Locate ``langgraph``: next to the running interpreter first, then on ``PATH``."""
    beside = Path(sys.executable).parent / "langgraph"
    if beside.is_file():
        return str(beside)
    found = shutil.which("langgraph")
    if found is None:
        msg = (
            "cannot find the 'langgraph' executable next to "
            f"{sys.executable!r} or on PATH; install 'langgraph-cli[inmem]'"
        )
        raise DevServerError(msg)
    return found


def config_server(config: str | os.PathLike[str]) -> Literal["python", "js"]:
    """Which server a ``langgraph.json`` is for: ``"js"`` when it names a ``node_version`` or
    its graphs are JavaScript/TypeScript files (``"./src/graph.ts:graph"``), else ``"python"``.
    """
    try:
        data = json.loads(Path(config).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "python"  # the server itself reports an unreadable config, with its reasons
    if not isinstance(data, dict):
        return "python"
    if data.get("node_version"):
        return "js"
    graphs = data.get("graphs")
    for spec in graphs.values() if isinstance(graphs, dict) else ():
        path = spec.get("path") if isinstance(spec, dict) else spec
        if isinstance(path, str) and path.rpartition(":")[0].endswith(_JS_SUFFIXES):
            return "js"
    return "python"


def find_langgraphjs_executable(project: str | os.PathLike[str]) -> str:
    """The project's ``@langchain/langgraph-cli`` (what ``npx @langchain/langgraph-cli``
    runs): ``node_modules/.bin/langgraphjs`` in ``project`` or the nearest folder above it."""
    start = Path(project).resolve()
    for folder in (start, *start.parents):
        candidate = folder / _JS_CLI
        if candidate.is_file():
            return str(candidate)
    msg = (
        f"cannot find the JavaScript LangGraph server for {str(start)!r}: no "
        f"{_JS_CLI.as_posix()} in it or above it; install it in the project with "
        "`npm install --save-dev @langchain/langgraph-cli`"
    )
    raise DevServerError(msg)


def server_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return ``os.environ`` with LangSmith, analytics and telemetry traffic switched off."""
    env = {k: v for k, v in os.environ.items() if k not in _ENV_REMOVED}
    env.update(_ENV_FORCED)
    if extra:
        env.update(extra)
    return env


class LangGraphDevServer:
    """A LangGraph dev server process serving the graphs of one ``langgraph.json``.

    ``server`` chooses ``langgraph dev`` (``"python"``) or the JavaScript server (``"js"``);
    ``"auto"`` (the default) reads the config (:func:`config_server`).

    By default the config's folder is copied into a fresh temporary directory and the server
    runs there, because both servers write ``.langgraph_api/`` into their working folder (a
    JavaScript project's ``node_modules`` is linked, not copied). Pass ``workdir`` to run in
    (and write into) a folder of your choice instead.

    Use it as a context manager, which starts the server and waits until it is ready::

        with LangGraphDevServer("tests/graphs/langgraph.json") as server:
            client = get_client(url=server.url)
    """

    def __init__(
        self,
        config: str | os.PathLike[str],
        *,
        port: int | None = None,
        workdir: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        n_jobs_per_worker: int | None = None,
        ready_timeout: float = 60.0,
        stop_timeout: float = 10.0,
        server: ServerChoice = "auto",
    ) -> None:
        self.config = Path(config).resolve()
        if not self.config.is_file():
            msg = f"langgraph config {str(self.config)!r} does not exist"
            raise FileNotFoundError(msg)
        if server not in ("auto", "python", "js"):
            msg = f"server must be 'auto', 'python' or 'js', not {server!r}"
            raise ValueError(msg)
        self.server: Literal["python", "js"] = (
            config_server(self.config) if server == "auto" else server
        )
        self._requested_port = port
        self.port = port if port is not None else free_port()
        self._workdir = Path(workdir).resolve() if workdir is not None else None
        self._temp_root: Path | None = None
        self._extra_env = dict(env or {})
        self.n_jobs_per_worker = n_jobs_per_worker
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.command: list[str] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._last_log = ""

    @property
    def url(self) -> str:
        """Base URL of the server; final once ``wait_ready`` has returned."""
        return f"http://{HOST}:{self.port}"

    @property
    def name(self) -> str:
        """What runs: ``langgraph dev`` or ``langgraphjs dev`` (the JavaScript server)."""
        return "langgraphjs dev" if self.server == "js" else "langgraph dev"

    @property
    def workdir(self) -> Path:
        """The folder the server runs in (and writes ``.langgraph_api/`` into)."""
        if self._workdir is None:
            msg = "the server has not been started"
            raise DevServerError(msg)
        return self._workdir

    @property
    def log_path(self) -> Path:
        """The file that receives the server's stdout and stderr."""
        return self.workdir / _LOG_NAME

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Spawn the server; call ``wait_ready`` before sending requests."""
        if self._process is not None:
            msg = "the server was already started"
            raise DevServerError(msg)
        config = self.config
        if self._workdir is None:
            self._temp_root = Path(tempfile.mkdtemp(prefix="streamcassette-langgraph-"))
            self._workdir = self._temp_root / self.config.parent.name
            shutil.copytree(
                self.config.parent,
                self._workdir,
                ignore=shutil.ignore_patterns(
                    ".langgraph_api", "__pycache__", "node_modules", _LOG_NAME
                ),
            )
            modules = self.config.parent / "node_modules"
            if modules.is_dir():  # big, and only read: the copy's imports resolve through it
                (self._workdir / "node_modules").symlink_to(modules, target_is_directory=True)
            config = self._workdir / self.config.name
        if self.server == "js":
            executable = find_langgraphjs_executable(self.config.parent)
        else:
            executable = find_langgraph_executable()
        self.command = [
            executable,
            "dev",
            "--no-browser",
            "--no-reload",
            "--port",
            str(self.port),
            "--host",
            HOST,
            "--config",
            str(config),
        ]
        if self.n_jobs_per_worker is not None:
            # The dev server runs one run at a time by default; a parked run blocks the rest.
            self.command += ["--n-jobs-per-worker", str(self.n_jobs_per_worker)]
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                self.command,
                cwd=self._workdir,
                env=server_env(self._extra_env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until ``GET /ok`` answers; raise ``DevServerError`` on exit or timeout."""
        if self._process is None:
            msg = "the server has not been started"
            raise DevServerError(msg)
        limit = self.ready_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            code = self._process.poll()
            if code is not None:
                raise self._error(f"{self.name} exited before it was ready")
            # Until the banner names our port, /ok could be answered by someone else.
            if self._port_announced() and self._answers_ok():
                return
            if time.monotonic() > deadline:
                raise self._error(f"{self.name} did not answer GET /ok within {limit:g} s")
            time.sleep(0.1)

    def info(self) -> dict[str, Any]:
        """Return the server's ``GET /info`` (versions and flags), or ``{}`` if unavailable."""
        try:
            with _OPENER.open(f"{self.url}/info", timeout=5) as response:
                data = json.loads(response.read())
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def log_tail(self, n: int = 40) -> str:
        """Return the last ``n`` lines of the server log, colour codes removed."""
        return "\n".join(self._read_log().splitlines()[-n:])

    def stop(self) -> None:
        """Terminate the server's process group, kill it after the grace period, clean up."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                self._signal_group(process, signal.SIGTERM)
                try:
                    process.wait(self.stop_timeout)
                except subprocess.TimeoutExpired:
                    self._signal_group(process, signal.SIGKILL)
                    process.wait()
            # The group may outlive its leader (workers); make sure nothing is left behind,
            # and wait until it is gone: a member still dying holds the listening socket, and
            # would accept and reset a connection made to the port meanwhile.
            self._signal_group(process, signal.SIGKILL)
            _wait_until_gone(process.pid, self.stop_timeout)
        if self._temp_root is not None:
            self._last_log = self._read_log()
            shutil.rmtree(self._temp_root, ignore_errors=True)
            self._temp_root = None

    def __enter__(self) -> LangGraphDevServer:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LangGraphDevServer({str(self.config)!r}, server={self.server!r}, url={self.url!r})"

    def _read_log(self) -> str:
        if self._workdir is None or not self.log_path.is_file():
            return self._last_log
        return _ANSI.sub("", self.log_path.read_text(encoding="utf-8", errors="replace"))

    def _port_announced(self) -> bool:
        match = _ANNOUNCED.search(self._read_log())
        if match is None:
            return False
        announced = int(match.group(2))
        if announced != self.port:
            if self._requested_port is not None:
                msg = f"port {self._requested_port} is in use; {self.name} chose {announced}"
                raise self._error(msg)
            # We only guessed a free port and lost a race for it; the server's choice is free.
            self.port = announced
        return True

    def _answers_ok(self) -> bool:
        try:
            with _OPENER.open(f"{self.url}/ok", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def _error(self, problem: str) -> DevServerError:
        code = None if self._process is None else self._process.poll()
        return DevServerError(
            f"{problem}\n"
            f"command: {shlex.join(self.command)}\n"
            f"exit code: {code}\n"
            f"workdir: {self._workdir}\n"
            f"last lines of {_LOG_NAME}:\n{self.log_tail(40)}"
        )

    @staticmethod
    def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)


def _wait_until_gone(group: int, timeout: float) -> None:
    """Wait (up to ``timeout`` seconds) until no process of a process group is alive."""
    deadline = time.monotonic() + timeout
    while _alive_in_group(group) and time.monotonic() < deadline:
        time.sleep(0.01)


def _alive_in_group(group: int) -> bool:
    """Whether a process of the group is still running. Zombies do not count (they hold no
    socket, and no one may reap them here); where ``/proc`` is missing, the group is taken
    to be gone as soon as it cannot be signalled."""
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # after the command name in parentheses: state, ppid, pgrp, ...
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 2 and fields[2] == str(group) and fields[0] != "Z":
            return True
    return False
