"""The test-facing fixtures and the per-test cassette handle behind them.

``stream_cassette`` opens the test's cassette in the run's mode and wires every LangGraph
SDK client built during the test to it (``CassetteSession.patch_sdk``);
``langgraph_client`` / ``langgraph_sync_client`` are SDK clients on it. A test marked
``@pytest.mark.stream_cassette`` gets the cassette without asking for a fixture.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pytest

from streamcassette import Cassette, CassetteFormatError, CassetteSession, load
from streamcassette._sdk import REPLAY_URL

from ._paths import cassette_path, default_cassette_name, display_path
from ._server import LiveServerError
from ._settings import Settings, merge_layers
from ._state import STATE_KEY, PluginState

if TYPE_CHECKING:
    from langgraph_sdk.client import LangGraphClient, SyncLangGraphClient

__all__ = [
    "HANDLE_KEY",
    "MARKER",
    "StreamCassette",
    "langgraph_client",
    "langgraph_sync_client",
    "stream_cassette",
    "stream_cassette_config",
    "stream_cassette_dir",
]

MARKER = "stream_cassette"
Action = Literal["replay", "record", "diff"]


def record_hint(nodeid: str) -> str:
    """How to record one missing cassette without re-recording every other one."""
    return (
        f"record it with `pytest --record-streams=missing {nodeid!r}` (records only the "
        "cassettes that do not exist yet)"
    )


def _failure(message: str) -> BaseException:
    """The exception of ``pytest.fail(message, pytrace=False)``, to raise ``from None``."""
    return pytest.fail.Exception(message, pytrace=False)


class StreamCassette:
    """The current test's cassette: where it lives, how it is used, and clients on it.

    ``action`` is ``"replay"`` (served from the file, offline), ``"record"`` (live, saved
    when the test passes) or ``"diff"`` (live, compared with the file, nothing written).
    """

    def __init__(
        self,
        *,
        nodeid: str,
        path: Path,
        shown: Path,
        action: Action,
        session: CassetteSession,
        settings: Settings,
        live_url: str | None,
        recorded: Cassette | None,
        save: bool,
    ) -> None:
        self.nodeid = nodeid
        self.path = path
        self.shown = shown  # the path as messages show it
        self.action = action
        self.session = session
        self.settings = settings
        self.live_url = live_url
        # The cassette on disk that a live run is compared with (drift runs only).
        self.recorded = recorded
        self.save_on_pass = save
        self.labels: list[str] = []
        self.drift_text: str | None = None
        self._sync_clients: list[SyncLangGraphClient] = []

    def __repr__(self) -> str:
        return f"<StreamCassette {str(self.path)!r} action={self.action!r}>"

    @property
    def cassette(self) -> Cassette:
        """The interactions being replayed, or recorded so far."""
        return self.session.cassette

    @property
    def recording(self) -> bool:
        """Whether requests go to a live server (record and drift runs)."""
        return self.session.recording

    # -- clients --------------------------------------------------------------------

    def _url(self) -> str:
        if not self.recording:
            return REPLAY_URL
        if self.live_url is None:
            msg = (
                f"{self.nodeid}: the langgraph_client fixtures need a live server when "
                "recording: pass --langgraph-url URL, set $STREAMCASSETTE_LANGGRAPH_URL, or "
                "put a langgraph.json in the rootdir"
            )
            raise LiveServerError(msg)
        return self.live_url

    def client(self, **kwargs: Any) -> LangGraphClient:
        """An async SDK client (``get_client(**kwargs)``) on this cassette."""
        return self.session.client(self._url(), **kwargs)

    def sync_client(self, **kwargs: Any) -> SyncLangGraphClient:
        """A sync SDK client (``get_sync_client(**kwargs)``) on this cassette."""
        client = self.session.sync_client(self._url(), **kwargs)
        self._sync_clients.append(client)
        return client

    # -- lifecycle ------------------------------------------------------------------

    @property
    def replayer_unmatched(self) -> list[Exception]:
        replayer = self.session.replayer
        return list(replayer.unmatched) if replayer is not None else []

    def activate(self) -> Iterator[StreamCassette]:
        with self.session.patch_sdk():
            try:
                yield self
            finally:
                for client in self._sync_clients:
                    client.close()
                self._sync_clients.clear()


# -- opening a test's cassette ----------------------------------------------------------


def _marker_layers(item: pytest.Item) -> tuple[str | None, list[tuple[str, Mapping[str, Any]]]]:
    """The cassette name and the settings layers of the markers, farthest first."""
    name: str | None = None
    layers: list[tuple[str, Mapping[str, Any]]] = []
    for marker in item.iter_markers(MARKER):  # closest first
        kwargs = dict(marker.kwargs)
        marker_name = kwargs.pop("name", None)
        if marker.args:
            if len(marker.args) > 1 or marker_name is not None:
                msg = (
                    f"{item.nodeid}: @pytest.mark.{MARKER} takes one cassette name; got "
                    f"args={marker.args!r}, name={marker_name!r}"
                )
                raise TypeError(msg)
            marker_name = marker.args[0]
        if marker_name is not None and name is None:
            if not isinstance(marker_name, str):
                msg = f"{item.nodeid}: the cassette name must be a string; got {marker_name!r}"
                raise TypeError(msg)
            name = marker_name
        layers.append((f"@pytest.mark.{MARKER} on {item.nodeid}", kwargs))
    layers.reverse()
    return name, layers


def item_cassette_path(item: pytest.Item, directory: Path) -> Path:
    """The cassette path of ``item`` in ``directory``: the marker's name or the test's."""
    name, _layers = _marker_layers(item)
    if name is not None:
        return cassette_path(directory, name)
    return cassette_path(directory, default_cassette_name(item), nested=False)


def resolve_settings(
    item: pytest.Item, state: PluginState, fixture_config: Mapping[str, Any]
) -> Settings:
    _name, marker_layers = _marker_layers(item)
    layers: list[tuple[str, Mapping[str, Any]]] = [
        ("[tool.streamcassette]", state.project_config),
        ("the stream_cassette_config fixture", fixture_config),
        *marker_layers,
    ]
    strict = [source for source, _ in layers[1:]]
    return merge_layers(layers, strict=strict)


def _plan(state: PluginState, path: Path) -> tuple[Action, bool, bool]:
    """(action, compare with the file, save when the test passes) for the run's options."""
    options = state.options
    exists = path.is_file()
    if options.record == "missing" and exists and not options.diff:
        return "replay", False, False
    if options.record == "missing" and not exists:
        return "record", False, True
    if options.diff:
        if options.record == "all":
            return "record", exists, True
        return "diff", True, False
    if options.record == "all":
        return "record", False, True
    return "replay", False, False


def open_cassette(
    item: pytest.Item, state: PluginState, path: Path, settings: Settings
) -> StreamCassette:
    """The test's cassette in the run's mode; fails the test when that is impossible."""
    action, compare, save = _plan(state, path)
    state.used.add(str(path.resolve()))
    shown = display_path(path, item.config.invocation_params.dir)
    recorded: Cassette | None = None
    if compare:
        try:
            recorded = load(path)
        except FileNotFoundError:
            state.counts["missing"] += 1
            message = (
                f"{shown}: no cassette to compare the live stream with; {record_hint(item.nodeid)}"
            )
            raise _failure(message) from None
        except CassetteFormatError as error:
            raise _failure(f"{error}\nre-record it with `pytest --record-streams`") from None
    live_url: str | None = None
    if action != "replay" and state.live.configured:
        try:
            live_url = state.live.url()
        except LiveServerError as error:
            item.session.shouldfail = "streamcassette: no live server (see the first failure)"
            raise _failure(str(error)) from None
        state.server_urls.add(state.live.describe())
    session_kwargs: dict[str, Any] = {
        "match_on": settings.match_on,
        "speed": settings.speed,
        "repeats": settings.repeats,
        "redact": settings.redact,
        "alias_ids": settings.alias_ids,
        "allow_hosts": settings.allow_hosts,
        "urls": settings.urls,
        "redact_keys": settings.redact_keys,
        "redact_paths": settings.redact_paths,
        "before_record_request": settings.before_record_request,
        "before_record_response": settings.before_record_response,
    }
    if action == "replay" and not path.is_file():
        state.counts["missing"] += 1
        raise _failure(f"{shown}: no such cassette; {record_hint(item.nodeid)}")
    try:
        session = CassetteSession(
            path,
            # Recordings go to the plugin's live server, whatever URL the code used.
            redirect_to=live_url,
            mode="replay" if action == "replay" else "record",
            **session_kwargs,
        )
    except CassetteFormatError as error:
        raise _failure(f"{error}\nre-record it with `pytest --record-streams`") from None
    # Messages (replay mismatches, drift reports) name the cassette relative to the cwd.
    session.cassette.path = shown
    if recorded is not None:
        recorded.path = shown
    return StreamCassette(
        nodeid=item.nodeid,
        path=path,
        shown=shown,
        action=action,
        session=session,
        settings=settings,
        live_url=live_url,
        recorded=recorded,
        save=save,
    )


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture
def stream_cassette_dir(request: pytest.FixtureRequest) -> Path:
    """The folder of this test's cassettes: ``<module folder>/cassettes/<module name>``.

    With ``cassette-dir`` in ``[tool.streamcassette]``: that folder plus the module's path
    relative to the rootdir (``<cassette-dir>/tests/test_chat``).
    """
    return request.config.stash[STATE_KEY].default_dir(request.path)


@pytest.fixture
def stream_cassette_config() -> dict[str, Any]:
    """Override to give a folder of tests shared settings (mask, modes, policy, ...)."""
    return {}


@pytest.fixture
def stream_cassette(
    request: pytest.FixtureRequest,
    stream_cassette_dir: Path,
    stream_cassette_config: dict[str, Any],
) -> Iterator[StreamCassette]:
    """This test's cassette, replayed or recorded as the command line says."""
    item = request.node
    assert isinstance(item, pytest.Item)
    state = request.config.stash[STATE_KEY]
    try:
        settings = resolve_settings(item, state, stream_cassette_config)
        path = item_cassette_path(item, Path(stream_cassette_dir))
    except (TypeError, ValueError) as error:
        raise _failure(str(error)) from None
    handle = open_cassette(item, state, path, settings)
    item.stash[HANDLE_KEY] = handle
    try:
        yield from handle.activate()
    finally:
        del item.stash[HANDLE_KEY]


@pytest.fixture
def langgraph_client(stream_cassette: StreamCassette) -> LangGraphClient:
    """An async ``langgraph_sdk`` client on this test's cassette."""
    try:
        return stream_cassette.client()
    except LiveServerError as error:
        raise _failure(str(error)) from None


@pytest.fixture
def langgraph_sync_client(stream_cassette: StreamCassette) -> SyncLangGraphClient:
    """A sync ``langgraph_sdk`` client on this test's cassette (closed after the test)."""
    try:
        return stream_cassette.sync_client()
    except LiveServerError as error:
        raise _failure(str(error)) from None


@pytest.fixture(autouse=True)
def _stream_cassette_for_marker(request: pytest.FixtureRequest) -> None:
    """Give a marked test its cassette even when it asks for no fixture."""
    if request.node.get_closest_marker(MARKER) is not None:
        request.getfixturevalue("stream_cassette")


HANDLE_KEY = pytest.StashKey[StreamCassette]()
