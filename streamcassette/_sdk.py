"""Cassette sessions: ``use_cassette``, ``CassetteSession`` and SDK clients on a cassette.

A session intercepts the LangGraph server's requests at httpx's transport layer while it is
active (``_intercept``), so clients built anywhere, before or inside the block, are recorded
or replayed; ``replay_client`` and the plugin's fixtures are conveniences on the same session.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.metadata
import platform
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import httpx

from ._cassette import Cassette
from ._errors import CassetteNotFoundError, EmptyRecordingWarning, UnplayedInteractionsError
from ._format import load, save
from ._intercept import (
    BYPASS,
    AllowList,
    AsyncSend,
    SyncSend,
    activate,
    deactivate,
    send_direct,
    send_direct_async,
)
from ._match import DEFAULT_MATCH_ON, Matcher
from ._record import AsyncRecordingTransport, Recorder, RecordingTransport, SessionClock
from ._redact import Redactor, RequestHook, ResponseHook
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


def _origin(url: httpx.URL | str) -> str:
    """``scheme://host:port`` of a URL, with the scheme's default port made explicit."""
    url = httpx.URL(url)
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.scheme}://{url.host.lower()}:{port}"


# A redirected request opens its own connection (a few tries while a server starts) and
# keeps none alive afterwards.
_REDIRECT_OPTIONS: dict[str, Any] = {
    "retries": 5,
    "limits": httpx.Limits(max_keepalive_connections=0),
}

# The Python SDK's user agent: requests that carry it are for a LangGraph server.
_SDK_USER_AGENT = "langgraph-sdk-py"

# A server's /info, read once per server per process (for recordings' provenance).
_SERVER_INFO: dict[str, dict[str, str | int] | None] = {}
_INFO_CLIENT: list[httpx.Client] = []


def server_info(url: str) -> dict[str, str | int] | None:
    """The server's ``/info`` (its versions), read once per server and process."""
    origin = _origin(url)
    if origin not in _SERVER_INFO:
        if not _INFO_CLIENT:
            # Built once (the CA bundle costs tens of ms); it keeps no connection open.
            limits = httpx.Limits(max_keepalive_connections=0)
            _INFO_CLIENT.append(httpx.Client(trust_env=False, timeout=2.0, limits=limits))
        try:
            response = _INFO_CLIENT[0].get(
                str(url).rstrip("/") + "/info", extensions={BYPASS: True}
            )
            info = response.json() if response.is_success else None
        except (httpx.HTTPError, ValueError):
            info = None
        _SERVER_INFO[origin] = _scalars(info) if isinstance(info, dict) else None
    return _SERVER_INFO[origin]


def _scalars(info: dict[str, Any]) -> dict[str, str | int]:
    return {key: value for key, value in info.items() if isinstance(value, (str, int))}


class CassetteSession:
    """One cassette in one mode, intercepting the LangGraph server's requests while active.

    ``mode="replay"`` serves the cassette and never touches the network; ``"record"``
    records afresh (the file is replaced on :meth:`save`); ``"missing"`` records when the
    file does not exist yet and replays it otherwise.

    While active (``with session:``, or :func:`use_cassette`), every request any httpx
    client sends to the LangGraph server is recorded or replayed, whenever the client was
    built (see ``_intercept``). A request is the server's when its origin is one of ``urls``,
    ``redirect_to``, or an origin a LangGraph SDK client used (the SDK's user agent says so).
    In replay the session is *sealed*: any other connection fails, except to ``allow_hosts``.
    ``redirect_to`` sends every recorded request to that server, whatever URL the client had.
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
        urls: Iterable[str] = (),
        allow_hosts: Iterable[str] = (),
        alias_ids: bool = True,
        redirect_to: str | None = None,
        redact_keys: Iterable[str] = (),
        redact_paths: Iterable[str] = (),
        before_record_request: RequestHook | None = None,
        before_record_response: ResponseHook | None = None,
    ) -> None:
        if mode not in MODES:
            msg = f"mode must be one of {', '.join(MODES)}; got {mode!r}"
            raise ValueError(msg)
        self.path = Path(path)
        # One redactor for recording and for matching live requests in replay (see _redact).
        self.redactor = Redactor(
            redact,
            keys=redact_keys,
            paths=redact_paths,
            before_record_request=before_record_request,
            before_record_response=before_record_response,
        )
        self.recording = mode == "record" or (mode == "missing" and not self.path.exists())
        self.replayer: ReplayTransport | None = None
        self.clock = SessionClock()
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
                self.cassette,
                match_on=match_on,
                speed=speed,
                repeats=repeats,
                redact=self.redactor,
                alias_ids=alias_ids,
            )
        self._recorder = Recorder(self.cassette, self.redactor, self.clock)
        self.redirect_to = httpx.URL(redirect_to) if redirect_to is not None else None
        self.server_origins = {_origin(REPLAY_URL), *(_origin(url) for url in urls)}
        if redirect_to is not None:
            self.server_origins.add(_origin(redirect_to))
        self.sealed = not self.recording
        self.allow = AllowList(allow_hosts)
        # Requests a sealed session refused (kept even if the code under test swallowed them).
        self.blocked_errors: list[Exception] = []
        # Requests that went to the network while replaying (only to allowed hosts).
        self.network_requests: list[str] = []
        self._server_url: str | None = redirect_to or next(iter(urls), None)
        # Redirected requests go through the session's own transports, not the client's, so
        # a client the code under test never closes holds no connection to the server.
        self._redirect_sync: httpx.HTTPTransport | None = None
        self._redirect_async: httpx.AsyncHTTPTransport | None = None

    @property
    def mode(self) -> Literal["record", "replay"]:
        return "record" if self.recording else "replay"

    # -- interception (the Route protocol of ``_intercept``) --------------------------

    def claims(self, request: httpx.Request) -> bool:
        """Whether ``request`` is for the LangGraph server of this session."""
        origin = _origin(request.url)
        if origin in self.server_origins:
            return True
        if request.headers.get("user-agent", "").startswith(_SDK_USER_AGENT):
            self.server_origins.add(origin)
            return True
        return False

    def handle_sync(self, request: httpx.Request, send: SyncSend) -> httpx.Response:
        if self.replayer is not None:
            return self.replayer.handle_request(request)
        if self.redirect_to is not None:
            _retarget(request, self.redirect_to)
            transport = self._redirect_sync
            if transport is None:
                transport = self._redirect_sync = httpx.HTTPTransport(**_REDIRECT_OPTIONS)
            return self._recorder.record_sync(request, lambda r: send_direct(transport, r))
        self._note_server(request)
        return self._recorder.record_sync(request, send)

    async def handle_async(self, request: httpx.Request, send: AsyncSend) -> httpx.Response:
        if self.replayer is not None:
            return await self.replayer.handle_async_request(request)
        if self.redirect_to is not None:
            _retarget(request, self.redirect_to)
            transport = self._redirect_async
            if transport is None:
                transport = self._redirect_async = httpx.AsyncHTTPTransport(**_REDIRECT_OPTIONS)
            return await self._recorder.record_async(
                request, lambda r: send_direct_async(transport, r)
            )
        self._note_server(request)
        return await self._recorder.record_async(request, send)

    def blocked(self, error: Exception) -> None:
        self.blocked_errors.append(error)

    def reached(self, request: httpx.Request) -> None:
        self.network_requests.append(f"{request.method} {request.url}")

    def _note_server(self, request: httpx.Request) -> None:
        if self._server_url is None:
            self._server_url = str(request.url.copy_with(path="/", query=None, fragment=None))

    def __enter__(self) -> CassetteSession:
        stack = contextlib.ExitStack()
        stack.enter_context(self._hook_sdk_clients())
        stack.enter_context(session_websockets(self))
        activate(self)
        stack.callback(deactivate, self)
        stack.callback(self._close_redirects)
        self._active = stack
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._active.close()

    def _close_redirects(self) -> None:
        transport, self._redirect_sync = self._redirect_sync, None
        if transport is not None:
            transport.close()
        # The async transport keeps no connection alive (see _REDIRECT_OPTIONS): nothing
        # to close, and its event loop may be gone by now.
        self._redirect_async = None

    @contextlib.contextmanager
    def patch_sdk(self) -> Iterator[CassetteSession]:
        """Activate the session for a block (same as ``with session:``)."""
        with self:
            yield self

    @contextlib.contextmanager
    def _hook_sdk_clients(self) -> Iterator[None]:
        """Note the URL of every SDK client built while active: its origin is the server's
        even for requests without the SDK's user agent (e.g. custom headers)."""
        from langgraph_sdk.client import LangGraphClient, SyncLangGraphClient

        session = self
        patched: list[tuple[type[Any], Callable[..., None]]] = []
        for cls in (LangGraphClient, SyncLangGraphClient):
            original = cls.__init__

            def init(
                self: Any, client: Any, *args: Any, __original: Any = original, **kwargs: Any
            ) -> None:
                base_url = getattr(client, "base_url", None)
                if base_url is not None and str(base_url):
                    session.server_origins.add(_origin(base_url))
                __original(self, client, *args, **kwargs)

            patched.append((cls, original))
            cls.__init__ = init  # type: ignore[method-assign]
        try:
            yield
        finally:
            for cls, original in reversed(patched):
                cls.__init__ = original

    # -- what happened ------------------------------------------------------------------

    def unplayed(self) -> list[str]:
        """The recorded requests no one asked for (replay), as ``#index METHOD path``."""
        if self.replayer is None:
            return []
        return [
            f"#{index} {interaction.request.describe()}"
            for index, interaction in self.replayer.unplayed()
        ]

    def check_all_played(self) -> None:
        """Raise :class:`UnplayedInteractionsError` if a recorded interaction was not asked for."""
        unplayed = self.unplayed()
        if unplayed:
            listed = "\n  ".join(unplayed)
            msg = (
                f"{self.cassette.name}: {len(unplayed)} recorded interaction(s) were never "
                f"requested (require_all_played=True):\n  {listed}"
            )
            raise UnplayedInteractionsError(msg)

    # -- transports -----------------------------------------------------------------

    def async_transport(
        self, real: httpx.AsyncBaseTransport | None = None
    ) -> httpx.AsyncBaseTransport:
        """A transport for an ``httpx.AsyncClient``: records through ``real``, or replays."""
        if self.replayer is not None:
            return self.replayer
        return AsyncRecordingTransport(self.cassette, real, redact=self.redactor, clock=self.clock)

    def sync_transport(self, real: httpx.BaseTransport | None = None) -> httpx.BaseTransport:
        """A transport for an ``httpx.Client``: records through ``real``, or replays."""
        if self.replayer is not None:
            return self.replayer
        return RecordingTransport(self.cassette, real, redact=self.redactor, clock=self.clock)

    # -- SDK clients ----------------------------------------------------------------

    def client(self, url: str | None = None, **kwargs: Any) -> LangGraphClient:
        """An async SDK client (``get_client``) on this cassette.

        Recording, it is a plain ``get_client`` whose requests the active session
        intercepts; replaying, it is built straight on the replay transport (``get_client``
        would first load the CA bundle, tens of ms, for a client that never connects).
        """
        from langgraph_sdk import get_client
        from langgraph_sdk.client import LangGraphClient

        if self.replayer is not None:
            http = httpx.AsyncClient(
                base_url=self._url(url),
                transport=self.replayer,
                headers=_sdk_headers(kwargs),
                timeout=_sdk_timeout(kwargs),
            )
            return LangGraphClient(http)
        client = get_client(url=self._url(url), **kwargs)
        self._wire(client.http.client)
        return client

    def sync_client(self, url: str | None = None, **kwargs: Any) -> SyncLangGraphClient:
        """A sync SDK client (``get_sync_client``) on this cassette."""
        from langgraph_sdk import get_sync_client
        from langgraph_sdk.client import SyncLangGraphClient

        if self.replayer is not None:
            http = httpx.Client(
                base_url=self._url(url),
                transport=self.replayer,
                headers=_sdk_headers(kwargs),
                timeout=_sdk_timeout(kwargs),
            )
            return SyncLangGraphClient(http)
        client = get_sync_client(url=self._url(url), **kwargs)
        self._wire(client.http.client)
        return client

    def _wire(self, http: httpx.Client | httpx.AsyncClient) -> None:
        """Route a recording client of ours through the session even when it is not active
        (``session.client(url)`` without ``with session``): the same ``handle_*`` path,
        past interception, so an active session does not record it twice."""
        self.server_origins.add(_origin(http.base_url))
        transport = http._transport
        if isinstance(http, httpx.AsyncClient) and isinstance(transport, httpx.AsyncHTTPTransport):
            http._transport = _AsyncSessionTransport(self, transport)
        elif isinstance(http, httpx.Client) and isinstance(transport, httpx.HTTPTransport):
            http._transport = _SessionTransport(self, transport)

    def _url(self, url: str | None) -> str:
        if url is None and self.recording:
            if self.redirect_to is not None:
                return str(self.redirect_to)
            msg = "recording needs the server's url"
            raise ValueError(msg)
        return url or REPLAY_URL

    # -- saving ---------------------------------------------------------------------

    def save(self, *, attach: bool | None = None, warn_empty: bool = True) -> Path:
        """Write the recording (atomically). Only meaningful when recording.

        ``attach`` is ``save``'s: frames in a ``.sse`` file beside the cassette (True),
        inside it (False), or by their size (None). A recording with no interaction is
        saved too, with an :class:`EmptyRecordingWarning` (unless ``warn_empty=False``: the
        pytest plugin reports it in its summary instead).
        """
        if not self.recording:
            msg = f"{self.path}: nothing to save, the cassette is being replayed"
            raise RuntimeError(msg)
        if warn_empty and not self.cassette.interactions:
            warnings.warn(
                EmptyRecordingWarning(
                    f"{self.path}: recorded no interaction: no request reached a LangGraph "
                    "server while the cassette was active (is the client's URL one of the "
                    "session's, or was the code under test not run?)"
                ),
                stacklevel=2,
            )
        self._add_server_info()
        self.redactor.apply_hooks(self.cassette)
        return save(self.cassette, self.path, attach=attach)

    def _add_server_info(self) -> None:
        if "server" in self.cassette.provenance:
            return
        for interaction in self.cassette.interactions:  # the client asked it itself
            response = interaction.response
            if (
                interaction.request.method == "GET"
                and interaction.request.path.rstrip("/").endswith("/info")
                and response is not None
                and response.status == 200
                and response.body is not None
            ):
                info = response.body.json_or_none()
                if isinstance(info, dict):
                    self.cassette.provenance["server"] = _scalars(info)
                    return
        if self._server_url is not None:
            info = server_info(self._server_url)
            if info:
                self.cassette.provenance["server"] = info


class _SessionTransport(httpx.BaseTransport):
    """A session's own sync client transport: the session's path, then the real one."""

    def __init__(self, session: CassetteSession, real: httpx.HTTPTransport) -> None:
        self.session = session
        self.real = real

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        real = self.real
        return self.session.handle_sync(request, lambda sent: send_direct(real, sent))

    def close(self) -> None:
        self.real.close()


class _AsyncSessionTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`_SessionTransport`."""

    def __init__(self, session: CassetteSession, real: httpx.AsyncHTTPTransport) -> None:
        self.session = session
        self.real = real

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        real = self.real
        return await self.session.handle_async(request, lambda sent: send_direct_async(real, sent))

    async def aclose(self) -> None:
        await self.real.aclose()


@contextlib.contextmanager
def use_cassette(
    path: Path | str,
    *,
    mode: Mode = "replay",
    match_on: Iterable[str | Matcher] = DEFAULT_MATCH_ON,
    speed: float | None = None,
    repeats: RepeatPolicy = "error",
    redact: Iterable[str] = (),
    urls: Iterable[str] = (),
    allow_hosts: Iterable[str] = (),
    alias_ids: bool = True,
    require_all_played: bool = False,
    redact_keys: Iterable[str] = (),
    redact_paths: Iterable[str] = (),
    before_record_request: RequestHook | None = None,
    before_record_response: ResponseHook | None = None,
) -> Iterator[CassetteSession]:
    """Record or replay every request to the LangGraph server made inside the block.

    Code under test is unchanged: SDK clients built anywhere (at import time too) and plain
    httpx clients to ``urls`` are intercepted at httpx's transport layer. When recording,
    the cassette is saved when the block exits normally; a block that raises saves nothing,
    so a failed recording never replaces a good one. Replaying, no connection leaves the
    process except to ``allow_hosts``; ``require_all_played=True`` fails the block when a
    recorded interaction was never asked for.

    Secrets are redacted before anything is written (``_redact``): ``redact`` names more
    headers and query parameters, ``redact_keys`` more JSON keys and ``redact_paths`` JSON
    paths in bodies and frames; ``before_record_request`` / ``before_record_response``
    return a changed copy of each recorded request / response, or None to leave it out.
    """
    session = CassetteSession(
        path,
        mode=mode,
        match_on=match_on,
        speed=speed,
        repeats=repeats,
        redact=redact,
        urls=urls,
        allow_hosts=allow_hosts,
        alias_ids=alias_ids,
        redact_keys=redact_keys,
        redact_paths=redact_paths,
        before_record_request=before_record_request,
        before_record_response=before_record_response,
    )
    with session:
        yield session
    if session.recording:
        session.save()
    elif require_all_played:
        session.check_all_played()


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


def _retarget(request: httpx.Request, base: httpx.URL) -> None:
    """Point ``request`` at the server ``base`` (its path prefix kept), in place."""
    prefix = base.path.rstrip("/")
    request.url = request.url.copy_with(
        scheme=base.scheme, host=base.host, port=base.port, path=prefix + request.url.path
    )
    request.headers["host"] = base.netloc.decode("ascii")
