"""The live server that recording and drift runs talk to.

The URL comes from ``--langgraph-url``, else ``$STREAMCASSETTE_LANGGRAPH_URL``, else an
embedded dev server started on a free loopback port from ``--langgraph-config`` or the
``langgraph.json`` in the rootdir: ``langgraph dev`` for Python graphs, the project's
JavaScript server (``npx @langchain/langgraph-cli dev``) for JavaScript/TypeScript graphs or
``--langgraph-server=js``. The embedded server starts the first time a test
needs it (replay never does) and stops when pytest ends; under pytest-xdist the controller
starts the one server of a recording or drift run and hands its URL to the workers.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from streamcassette._intercept import BYPASS
from streamcassette._sdk import server_info
from streamcassette.devserver import DevServerError, LangGraphDevServer, ServerChoice

__all__ = [
    "URL_ENV",
    "LiveServer",
    "LiveServerError",
]

URL_ENV = "STREAMCASSETTE_LANGGRAPH_URL"
DEFAULT_CONFIG_NAME = "langgraph.json"
# The one probe of a given server (seconds): a wrong --langgraph-url fails at once.
PROBE_TIMEOUT = 2.0


class LiveServerError(RuntimeError):
    """No live server could be used: none is configured, or the embedded one did not start."""


class LiveServer:
    """Resolves, and if need be starts, the one live server of this pytest process."""

    def __init__(
        self,
        url: str | None,
        config_path: Path | None,
        *,
        failure: str | None = None,
        server: ServerChoice = "auto",
    ) -> None:
        self._given_url = url.rstrip("/") if url else None
        self.config_path = config_path
        self.server_choice = server
        self.server: LangGraphDevServer | None = None
        self._failure: str | None = failure
        self._probed = False

    @classmethod
    def from_options(
        cls,
        url_option: str | None,
        config_option: str | None,
        rootdir: Path,
        server_option: ServerChoice = "auto",
    ) -> LiveServer:
        url = url_option or os.environ.get(URL_ENV) or None
        config_path: Path | None = None
        if config_option:
            config_path = Path(config_option)
            if not config_path.is_absolute():
                config_path = rootdir / config_path
        elif (rootdir / DEFAULT_CONFIG_NAME).is_file():
            config_path = rootdir / DEFAULT_CONFIG_NAME
        return cls(url, config_path, server=server_option)

    @property
    def configured(self) -> bool:
        """Whether a URL was given or an embedded server can be started."""
        return (
            self._given_url is not None or self.config_path is not None or self._failure is not None
        )

    @property
    def embedded(self) -> bool:
        """Whether the server is (to be) started by the plugin rather than given."""
        return self._given_url is None and self.config_path is not None

    @property
    def failure(self) -> str | None:
        """Why the embedded server could not be used, once that is known."""
        return self._failure

    @property
    def started(self) -> bool:
        return self.server is not None

    def describe(self) -> str:
        if self._given_url is not None:
            return self._given_url
        if self.server is not None:
            return f"{self.server.url} ({self.server.name}, {self.config_path})"
        if self.config_path is not None:
            return f"a dev server from {self.config_path} (not started)"
        return "none"

    def url(self) -> str:
        """The live server's URL, starting the embedded server on first use."""
        if self._failure is not None:
            raise LiveServerError(self._failure)
        if self._given_url is not None:
            if not self._probed:
                self._probe(self._given_url)
            return self._given_url
        if self.server is not None:
            return self.server.url
        if self.config_path is None:
            msg = (
                "no live LangGraph server to record from: pass --langgraph-url URL, set "
                f"${URL_ENV}, or put a langgraph.json in the rootdir (or name one with "
                "--langgraph-config) so that the plugin starts its dev server itself"
            )
            raise LiveServerError(msg)
        if not self.config_path.is_file():
            self._failure = (
                f"--langgraph-config {str(self.config_path)!r} does not exist; "
                "name an existing langgraph.json"
            )
            raise LiveServerError(self._failure)
        # The dev servers resolve the graphs and dependencies of langgraph.json against
        # their working folder, so they run in the config's folder, as they do by hand.
        server = LangGraphDevServer(
            self.config_path, workdir=self.config_path.parent, server=self.server_choice
        )
        try:
            server.start()
            server.wait_ready()
        except (DevServerError, OSError) as error:
            server.stop()
            self._failure = f"the embedded {server.name} server did not start:\n{error}"
            raise LiveServerError(self._failure) from None
        self.server = server
        return server.url

    def _probe(self, url: str) -> None:
        """One quick request to a given URL before the first test uses it: a server that is
        not there fails the session at once, not each test after the SDK's retries."""
        self._probed = True
        try:
            with httpx.Client(timeout=PROBE_TIMEOUT, trust_env=False) as client:
                # Past any active cassette: the probe is not the code under test's request.
                client.get(url + "/ok", extensions={BYPASS: True})
        except httpx.HTTPError as error:
            self._failure = (
                f"cannot reach the LangGraph server at {url} ({type(error).__name__}: "
                f"{error}). Start it (`langgraph dev` prints its URL) and pass that URL to "
                f"--langgraph-url (or ${URL_ENV}), or leave both unset to let the plugin start "
                "`langgraph dev` from the rootdir's langgraph.json"
            )
            raise LiveServerError(self._failure) from None

    def server_info(self) -> dict[str, str | int]:
        """The server's ``GET /info`` (versions), for cassette provenance; ``{}`` if none."""
        try:
            return server_info(self.url()) or {}
        except LiveServerError:
            return {}

    def stop(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.stop()
