"""pytest entry point for streamcassette (registered through the ``pytest11`` entry point).

Modes, chosen on the command line only:

* ``pytest`` -- replay. Every cassette is served from its file; nothing touches the
  network and no server is started. A missing cassette, or a request the cassette cannot
  answer, fails the test and says how to record it.
* ``pytest --record-streams`` (``=all``) -- run against the live server and rewrite the
  cassettes of the selected tests (each one is saved only when its test passes).
  ``--record-streams=missing`` records only the cassettes that do not exist yet and
  replays the others.
* ``pytest --diff-streams`` -- run against the live server, write nothing, and compare
  every live stream with its cassette after masking (stream mode ``updates`` unless
  configured; for v3 thread sessions the channels ``values``, ``updates``, ``tools``,
  ``custom``, ``lifecycle`` and ``input``); drift fails the test with the diff. With
  ``--record-streams`` as well, the cassettes are rewritten and the drift is listed in the
  terminal summary instead.

The live server: ``--langgraph-url URL`` (or ``$STREAMCASSETTE_LANGGRAPH_URL``);
otherwise, when recording, a dev server is started from ``--langgraph-config`` or the
rootdir's ``langgraph.json`` on a free loopback port and stopped at the end: ``langgraph dev``,
or the project's JavaScript server for JavaScript graphs (``--langgraph-server``).

Precedence of settings, highest first: command-line options > the marker
``@pytest.mark.stream_cassette(...)`` > the ``stream_cassette_config`` fixture >
``[tool.streamcassette]`` in pyproject.toml > built-in defaults. Scalars (``modes``,
``policy``, ``match_on``, ``repeats``, ``speed``, ``allow_unmatched``, ``attach``) come
from the highest layer that sets them; ``mask`` rules and ``redact`` names add up over all
layers.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from streamcassette._config import ConfigError, load_config

from ._fixtures import (  # the fixtures are registered by being names of this module
    HANDLE_KEY,
    MARKER,
    _stream_cassette_for_marker,  # noqa: F401
    item_cassette_path,
    langgraph_client,
    langgraph_sync_client,
    stream_cassette,
    stream_cassette_config,
    stream_cassette_dir,
)
from ._outcome import finish
from ._report import find_unused, unused_frames, write_summary
from ._serve import cassette_server, cassette_server_source, cassette_server_speed
from ._server import LiveServer, LiveServerError
from ._state import STATE_KEY, Options, PluginState, RecordMode, new_claims_dir
from ._syrupy import stream_snapshot

__all__ = [
    "cassette_server",
    "cassette_server_source",
    "cassette_server_speed",
    "langgraph_client",
    "langgraph_sync_client",
    "stream_cassette",
    "stream_cassette_config",
    "stream_cassette_dir",
    "stream_snapshot",
]

RECORD_OPTION = "--record-streams"
RECORD_CHOICES: tuple[RecordMode, ...] = ("all", "missing")
_WORKER_KEY = "streamcassette"
_CLAIMS_KEY = "streamcassette_claims_dir"
_SERVER_KEY = "streamcassette_server"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("streamcassette", "streamcassette: record and replay LangGraph streams")
    group.addoption(
        RECORD_OPTION,
        nargs="?",
        const="all",
        default=None,
        metavar="all|missing",
        dest="streamcassette_record",
        help=(
            "run the selected tests against the live LangGraph server and write their "
            "cassettes: 'all' (the default) rewrites them, 'missing' records only those "
            "that do not exist and replays the rest. Without it, tests replay offline."
        ),
    )
    group.addoption(
        "--diff-streams",
        action="store_true",
        default=False,
        dest="streamcassette_diff",
        help=(
            "run against the live server, write nothing, and fail tests whose live "
            "streams drifted from their cassettes (with --record-streams: rewrite and "
            "report the drift)."
        ),
    )
    group.addoption(
        "--langgraph-url",
        default=None,
        metavar="URL",
        dest="streamcassette_url",
        help=(
            "the live LangGraph server to record from or compare with "
            "(default: $STREAMCASSETTE_LANGGRAPH_URL, else start `langgraph dev`)."
        ),
    )
    group.addoption(
        "--langgraph-server",
        default="auto",
        choices=("auto", "python", "js"),
        dest="streamcassette_server",
        help=(
            "which dev server to start from the langgraph.json: `langgraph dev` (python) or "
            "the project's `npx @langchain/langgraph-cli dev` (js); auto (default) reads the "
            "config's graphs."
        ),
    )
    group.addoption(
        "--langgraph-config",
        default=None,
        metavar="PATH",
        dest="streamcassette_config",
        help=(
            "the langgraph.json to start `langgraph dev` from when no URL is given "
            "(default: langgraph.json in the rootdir)."
        ),
    )
    group.addoption(
        "--delete-unused-streams",
        action="store_true",
        default=False,
        dest="streamcassette_delete_unused",
        help=(
            "delete the cassettes of the collected test modules that no test uses, with "
            "the .sse files their frames are attached in."
        ),
    )


def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    """Let ``--record-streams`` be followed by a test path.

    ``--record-streams`` takes an optional value, so argparse would read
    ``pytest --record-streams tests/`` as ``--record-streams=tests/``. A bare flag that is
    not followed by ``all`` or ``missing`` is rewritten to ``--record-streams=all``.
    """
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg != RECORD_OPTION:
            continue
        following = args[index + 1] if index + 1 < len(args) else None
        if following is None or following not in RECORD_CHOICES:
            args[index] = f"{RECORD_OPTION}=all"


def _options(config: pytest.Config) -> Options:
    record = config.getoption("streamcassette_record")
    if record is not None and record not in RECORD_CHOICES:
        msg = (
            f"{RECORD_OPTION}={record!r}: choose {RECORD_OPTION} (records all selected "
            f"tests) or {RECORD_OPTION}=missing (records only missing cassettes)"
        )
        raise pytest.UsageError(msg)
    return Options(
        record=record,
        diff=bool(config.getoption("streamcassette_diff")),
        delete_unused=bool(config.getoption("streamcassette_delete_unused")),
    )


def _project_settings(rootdir: Path) -> tuple[dict[str, Any], Path | None]:
    """The ``[tool.streamcassette]`` settings that apply to tests, and its cassette dir.

    ``record-mode`` is the command line's: plain ``pytest`` always replays.
    """
    try:
        config = load_config(rootdir)
    except ConfigError as error:
        raise pytest.UsageError(str(error)) from None
    if config.path is None:
        return {}, None
    layer: dict[str, Any] = {
        "mask": config.mask,
        "policy": config.policy,
        "redact": config.redact,
        "redact_keys": config.redact_keys,
        "redact_paths": config.redact_paths,
    }
    if config.modes is not None:
        layer["modes"] = config.modes
    if config.match_on is not None:
        layer["match_on"] = config.match_on
    if config.attach is not None:
        layer["attach"] = config.attach
    if config.allow_hosts:
        layer["allow_hosts"] = config.allow_hosts
    if config.urls:
        layer["urls"] = config.urls
    if config.alias_ids is not None:
        layer["alias_ids"] = config.alias_ids
    if config.require_all_played is not None:
        layer["require_all_played"] = config.require_all_played
    return layer, config.cassette_dir


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name=None, *, mask=None, modes=None, policy=None, match_on=None, "
        "repeats=None, speed=None, redact=None, redact_keys=None, redact_paths=None, "
        "before_record_request=None, before_record_response=None, allow_unmatched=False, "
        "attach=None, alias_ids=True, require_all_played=False, allow_hosts=None, urls=None): "
        "record or replay this test's LangGraph streams through a cassette (see "
        "streamcassette's README).",
    )
    options = _options(config)
    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and _SERVER_KEY in workerinput:
        # Under xdist the controller started the one embedded server (or failed to).
        url, failure = workerinput[_SERVER_KEY]
        live = LiveServer(url, None, failure=failure)
    else:
        live = LiveServer.from_options(
            config.getoption("streamcassette_url"),
            config.getoption("streamcassette_config"),
            config.rootpath,
            config.getoption("streamcassette_server"),
        )
    claims_dir: Path | None = None
    owns_claims_dir = False
    if workerinput is not None and workerinput.get(_CLAIMS_KEY):
        claims_dir = Path(workerinput[_CLAIMS_KEY])
    elif options.record is not None:
        claims_dir, owns_claims_dir = new_claims_dir(), True
    project, cassette_root = _project_settings(config.rootpath)
    config.stash[STATE_KEY] = PluginState(
        options=options,
        live=live,
        project_config=project,
        cassette_root=cassette_root,
        rootdir=config.rootpath,
        is_worker=workerinput is not None,
        claims_dir=claims_dir,
        owns_claims_dir=owns_claims_dir,
        partial_modules=_partial_modules(config),
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is not None:
        state.close()


# -- xdist: share the claims folder, bring the workers' state home ----------------------


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    state = node.config.stash.get(STATE_KEY, None)
    if state is None:
        return
    if state.claims_dir is not None:
        node.workerinput[_CLAIMS_KEY] = str(state.claims_dir)
    options = state.options
    if state.live.embedded and (options.record is not None or options.diff):
        # One embedded server for all workers: started here, on the controller, before the
        # first worker runs (recording runs only; a replay run never starts one).
        try:
            url: str | None = state.live.url()
        except LiveServerError:
            url = None
        node.workerinput[_SERVER_KEY] = (url, state.live.failure)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    state = node.config.stash.get(STATE_KEY, None)
    data = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if state is not None and data:
        state.merge(data)


# -- collection: which cassettes the collected tests own ---------------------------------


def _partial_modules(config: pytest.Config) -> set[str]:
    """Test modules named with ``::`` on the command line: only part of them is collected."""
    partial: set[str] = set()
    base = config.invocation_params.dir
    for arg in config.args:
        path, sep, _rest = arg.partition("::")
        if sep:
            partial.add(str((base / path).resolve()))
    return partial


def pytest_itemcollected(item: pytest.Item) -> None:
    if not isinstance(item, pytest.Function):
        return
    if item.get_closest_marker(MARKER) is None and "stream_cassette" not in item.fixturenames:
        return
    state = item.config.stash[STATE_KEY]
    directory = state.default_dir(item.path)
    try:
        path = item_cassette_path(item, directory)
    except (TypeError, ValueError):
        return  # reported when the test runs
    state.owned.add(str(path.resolve()))
    if str(item.path.resolve()) not in state.partial_modules:
        state.scan_dirs.add(str(directory.resolve()))


# -- running: drift and saving happen when the test body has run --------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    handle = item.stash.get(HANDLE_KEY, None)
    if handle is None:
        return (yield)
    state = item.config.stash[STATE_KEY]
    try:
        result = yield
    except BaseException:
        finish(handle, state, passed=False, item=item)
        raise
    failure = finish(handle, state, passed=True, item=item)
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    return result


# -- the end: unused cassettes and the summary --------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    state = config.stash.get(STATE_KEY, None)
    if state is None:
        return
    if state.is_worker:
        workeroutput: dict[str, Any] = getattr(config, "workeroutput", {})
        workeroutput[_WORKER_KEY] = state.export()
        return
    if exitstatus in (
        pytest.ExitCode.INTERRUPTED,
        pytest.ExitCode.INTERNAL_ERROR,
        pytest.ExitCode.USAGE_ERROR,
    ):
        return
    state.unused = find_unused(state)
    state.unused_frames = unused_frames(state.unused)
    if state.options.delete_unused and state.unused:
        for name in state.unused:
            # The cassette, then its frames: ``save`` writes them the other way round, so
            # that no cassette ever attaches frames that are not there.
            os.remove(name)
            if name in state.unused_frames:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(state.unused_frames[name])
            state.deleted.append(name)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    state = config.stash.get(STATE_KEY, None)
    if state is not None and not state.is_worker:
        write_summary(terminalreporter, state)
