"""Wiring into ``langgraph_sdk``: clients that record or replay, and ``use_cassette``.

``use_cassette`` wraps the transport of every LangGraph SDK client *constructed* inside
it, however the code under test imported ``get_client``: it hooks the client classes'
``__init__``, which every ``get_client``/``get_sync_client`` call goes through.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import platform
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from ._cassette import Cassette
from ._errors import CassetteNotFoundError
from ._format import load, save
from ._match import DEFAULT_MATCH_ON, Matcher
from ._record import AsyncRecordingTransport, RecordingTransport
from ._replay import RepeatPolicy, ReplayTransport
from ._websocket import session_websockets

if TYPE_CHECKING:
    from langgraph_sdk.client import LangGraphClient, SyncLangGraphClient

__all__ = ["CassetteSession", "Mode", "replay_client", "replay_sync_client", "use_cassette"]

Mode = Literal["replay", "record", "missing"]
MODES: tuple[Mode, ...] = ("replay", "record", "missing")
REPLAY_URL = "http://streamcassette.invalid"


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def new_provenance() -> dict[str, Any]:
    """Where a recording comes from; server versions are added once a server answers."""
    provenance: dict[str, Any] = {
        "recorded_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "streamcassette": _version("streamcassette"),
        "langgraph_sdk": _version("langgraph-sdk"),
        "python": platform.python_version(),
    }
    return {key: value for key, value in provenance.items() if value is not None}


# The SDK's own default timeouts (get_client), for replay clients built without it.
_SDK_TIMEOUT = httpx.Timeout(connect=5, read=300, write=300, pool=5)


def _sdk_timeout(kwargs: dict[str, Any]) -> httpx.Timeout:
    timeout = kwargs.get("timeout")
    return httpx.Timeout(timeout) if timeout is not None else _SDK_TIMEOUT


def _sdk_headers(kwargs: dict[str, Any]) -> dict[str, str]:
    """The default headers ``get_client`` would send; a replayed client never reads a key
    from the environment (``api_key`` defaults to none)."""
    unknown = set(kwargs) - {"api_key", "headers", "timeout"}
    if unknown:
        msg = f"unsupported client options for replay: {', '.join(sorted(unknown))}"
        raise TypeError(msg)
    try:
        from langgraph_sdk._shared.utilities import _get_headers
    except ImportError:  # older SDKs: the user agent is what matters for fidelity
        import langgraph_sdk

        headers = {"User-Agent": f"langgraph-sdk-py/{langgraph_sdk.__version__}"}
        if kwargs.get("api_key"):
            headers["x-api-key"] = kwargs["api_key"]
        return {**headers, **(kwargs.get("headers") or {})}
    return _get_headers(kwargs.get("api_key"), kwargs.get("headers"))


class CassetteSession:
    """One cassette in one mode: hands out transports and SDK clients that use it.

    ``mode="replay"`` serves the cassette and never touches the network; ``"record"``
    records afresh (the file is replaced on :meth:`save`); ``"missing"`` records when the
    file does not exist yet and replays it otherwise.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        mode: Mode = "replay",
        match_on: Iterable[str | Matcher] = DEFAULT_MATCH_ON,
        speed: float | None = None,
        repeats: RepeatPolicy = "error",
        redact: Iterable[str] = (),
    ) -> None:
        if mode not in MODES:
            msg = f"mode must be one of {', '.join(MODES)}; got {mode!r}"
            raise ValueError(msg)
        self.path = Path(path)
        self.redact = tuple(redact)
        self.recording = mode == "record" or (mode == "missing" and not self.path.exists())
        self.replayer: ReplayTransport | None = None
        if self.recording:
            self.cassette = Cassette(provenance=new_provenance(), path=self.path)
        else:
            try:
                self.cassette = load(self.path)
            except CassetteNotFoundError:
                raise CassetteNotFoundError(
                    self.path, "record it first (mode='record', or `pytest --record-streams`)"
                ) from None
            self.replayer = ReplayTransport(
                self.cassette, match_on=match_on, speed=speed, repeats=repeats, redact=redact
            )
        self._server_info_from: str | None = None
        # Clients already pointed at the cassette: attaching twice would record twice.
        self._attached: weakref.WeakSet[httpx.Client | httpx.AsyncClient] = weakref.WeakSet()

    @property
    def mode(self) -> Literal["record", "replay"]:
        return "record" if self.recording else "replay"

    # -- transports -----------------------------------------------------------------

    def async_transport(
        self, real: httpx.AsyncBaseTransport | None = None
    ) -> httpx.AsyncBaseTransport:
        """A transport for an ``httpx.AsyncClient``: records through ``real``, or replays."""
        if self.replayer is not None:
            return self.replayer
        return AsyncRecordingTransport(self.cassette, real, redact=self.redact)

    def sync_transport(self, real: httpx.BaseTransport | None = None) -> httpx.BaseTransport:
        """A transport for an ``httpx.Client``: records through ``real``, or replays."""
        if self.replayer is not None:
            return self.replayer
        return RecordingTransport(self.cassette, real, redact=self.redact)

    # -- SDK clients ----------------------------------------------------------------

    def client(self, url: str | None = None, **kwargs: Any) -> LangGraphClient:
        """An async SDK client (``get_client``) wired to this cassette."""
        from langgraph_sdk import get_client
        from langgraph_sdk.client import LangGraphClient

        if self.replayer is not None:
            # Built straight on the replay transport: get_client would first build a real
            # transport, loading the CA bundle (tens of ms) for a client that never connects.
            http = httpx.AsyncClient(
                base_url=self._url(url),
                transport=self.replayer,
                headers=_sdk_headers(kwargs),
                timeout=_sdk_timeout(kwargs),
            )
            self._attached.add(http)
            return LangGraphClient(http)
        client = get_client(url=self._url(url), **kwargs)
        self.attach(client.http.client)
        return client

    def sync_client(self, url: str | None = None, **kwargs: Any) -> SyncLangGraphClient:
        """A sync SDK client (``get_sync_client``) wired to this cassette."""
        from langgraph_sdk import get_sync_client
        from langgraph_sdk.client import SyncLangGraphClient

        if self.replayer is not None:
            http = httpx.Client(
                base_url=self._url(url),
                transport=self.replayer,
                headers=_sdk_headers(kwargs),
                timeout=_sdk_timeout(kwargs),
            )
            self._attached.add(http)
            return SyncLangGraphClient(http)
        client = get_sync_client(url=self._url(url), **kwargs)
        self.attach(client.http.client)
        return client

    def _url(self, url: str | None) -> str:
        if url is None and self.recording:
            msg = "recording needs the server's url"
            raise ValueError(msg)
        return url or REPLAY_URL

    def attach(self, client: httpx.Client | httpx.AsyncClient) -> None:
        """Point an existing httpx client at this cassette (used for SDK-built clients)."""
        if client in self._attached:
            return
        self._attached.add(client)
        # httpx routes by mount first (e.g. proxies from the environment), then falls back
        # to ``_transport``; both must go through the cassette.
        if isinstance(client, httpx.AsyncClient):
            client._transport = self.async_transport(client._transport)
            wrap_async = self.async_transport
            client._mounts = {
                pattern: wrap_async(transport) if transport is not None else None
                for pattern, transport in client._mounts.items()
            }
        else:
            client._transport = self.sync_transport(client._transport)
            wrap_sync = self.sync_transport
            client._mounts = {
                pattern: wrap_sync(transport) if transport is not None else None
                for pattern, transport in client._mounts.items()
            }
        if self.recording and self._server_info_from is None:
            self._server_info_from = str(client.base_url)

    @contextlib.contextmanager
    def patch_sdk(self) -> Iterator[CassetteSession]:
        """Wire every SDK client constructed in this block to the cassette."""
        from langgraph_sdk.client import LangGraphClient, SyncLangGraphClient

        session = self
        patched: list[tuple[type[Any], Callable[..., None]]] = []
        for cls in (LangGraphClient, SyncLangGraphClient):
            original = cls.__init__

            def init(
                self: Any, client: Any, *args: Any, __original: Any = original, **kwargs: Any
            ) -> None:
                session.attach(client)
                __original(self, client, *args, **kwargs)

            patched.append((cls, original))
            cls.__init__ = init  # type: ignore[method-assign]
        try:
            with session_websockets(self):
                yield self
        finally:
            for cls, original in reversed(patched):
                cls.__init__ = original

    # -- saving ---------------------------------------------------------------------

    def save(self, *, attach: bool | None = None) -> Path:
        """Write the recording (atomically). Only meaningful when recording.

        ``attach`` is ``save``'s: frames in a ``.sse`` file beside the cassette (True),
        inside it (False), or by their size (None).
        """
        if not self.recording:
            msg = f"{self.path}: nothing to save, the cassette is being replayed"
            raise RuntimeError(msg)
        self._add_server_info()
        return save(self.cassette, self.path, attach=attach)

    def _add_server_info(self) -> None:
        if self._server_info_from is None or "server" in self.cassette.provenance:
            return
        try:
            response = httpx.get(
                self._server_info_from.rstrip("/") + "/info", timeout=2.0, trust_env=False
            )
            info = response.json() if response.is_success else None
        except (httpx.HTTPError, ValueError):
            info = None
        if isinstance(info, dict):
            self.cassette.provenance["server"] = {
                key: value for key, value in info.items() if isinstance(value, (str, int))
            }


@contextlib.contextmanager
def use_cassette(
    path: Path | str,
    *,
    mode: Mode = "replay",
    match_on: Iterable[str | Matcher] = DEFAULT_MATCH_ON,
    speed: float | None = None,
    repeats: RepeatPolicy = "error",
    redact: Iterable[str] = (),
) -> Iterator[CassetteSession]:
    """Record or replay every LangGraph SDK client created inside the block.

    Code under test keeps calling ``get_client(url=...)`` / ``get_sync_client(url=...)``
    unchanged. When recording, the cassette is saved when the block exits normally; a
    block that raises saves nothing, so a failed recording never replaces a good one.
    """
    session = CassetteSession(
        path, mode=mode, match_on=match_on, speed=speed, repeats=repeats, redact=redact
    )
    with session.patch_sdk():
        yield session
    if session.recording:
        session.save()


def replay_client(
    cassette: Path | str,
    *,
    match_on: Iterable[str | Matcher] = DEFAULT_MATCH_ON,
    speed: float | None = None,
    repeats: RepeatPolicy = "error",
) -> LangGraphClient:
    """An async SDK client that answers from ``cassette``, offline."""
    session = CassetteSession(
        cassette, mode="replay", match_on=match_on, speed=speed, repeats=repeats
    )
    return session.client()


def replay_sync_client(
    cassette: Path | str,
    *,
    match_on: Iterable[str | Matcher] = DEFAULT_MATCH_ON,
    speed: float | None = None,
    repeats: RepeatPolicy = "error",
) -> SyncLangGraphClient:
    """A sync SDK client that answers from ``cassette``, offline."""
    session = CassetteSession(
        cassette, mode="replay", match_on=match_on, speed=speed, repeats=repeats
    )
    return session.sync_client()
