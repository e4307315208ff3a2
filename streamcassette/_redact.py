"""Redaction of secrets before anything is written.

Every channel a credential can travel through is covered (README, "Secrets"):

* header values, by name (``x-api-key``, ``authorization``, cookies, and any secret-looking
  name, see :func:`is_secret_key`);
* query parameter values, the same way (``api_key``, ``api-key``, ``x-api-key``, ``token``, ...);
* JSON request bodies, response bodies and SSE frame data: the value of every secret-looking
  key at any depth (``config.configurable.openai_api_key``, which a ``debug`` stream echoes in
  every checkpoint), plus the user's ``keys`` and ``paths``.

A redacted value becomes ``<redacted>``; the key is kept so a cassette still shows that a
credential was sent. Replay redacts the live request the same way before matching it, so a
redacted recording still matches.

Frames are the hot path of recording: a frame is parsed only when a cheap byte search finds a
key that could be secret (see ``_SCAN_NEEDLES``); the rest pass through untouched.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from ._cassette import Cassette, Interaction, RecordedRequest, RecordedResponse

__all__ = [
    "DEFAULT_REDACTED_HEADERS",
    "DEFAULT_REDACTED_QUERY",
    "REDACTED",
    "Redactor",
    "RequestHook",
    "ResponseHook",
    "is_secret_key",
]

REDACTED = "<redacted>"

DEFAULT_REDACTED_HEADERS = frozenset(
    {"x-api-key", "authorization", "cookie", "set-cookie", "proxy-authorization"}
)
DEFAULT_REDACTED_QUERY = frozenset(
    {"api_key", "api-key", "apikey", "x-api-key", "access_token", "token"}
)

# A key is secret when its name, lower-cased with ``-`` and ``_`` taken out, ends with one of
# these: ``openai_api_key`` -> ``openaiapikey`` ends with ``apikey``, ``github_token`` with
# ``token``, ``aws_secret_access_key`` with ``accesskey``. ``max_tokens``, ``tokens``,
# ``token_usage``, ``input_tokens`` and ``api_key_id`` end with none of them.
SECRET_KEY_ENDINGS = (
    "apikey",
    "apikeys",
    "password",
    "passwd",
    "passphrase",
    "secret",
    "secretkey",
    "privatekey",
    "accesskey",
    "accountkey",
    "signingkey",
    "encryptionkey",
    "subscriptionkey",
    "token",  # access_token, refresh_token, api_token, hf_token, bot_token, token, ...
    "credential",
    "credentials",
    "authorization",
)

# Every secret key's name ends with one of these, then its closing quote, so a frame whose
# lower-cased bytes hold none of them needs no parsing (a test keeps them in step with the
# endings). A regex alternation was tried: ten times slower than these few ``in`` tests.
_SCAN_NEEDLES = (
    b'key"',
    b'keys"',
    b"passw",
    b'passphrase"',
    b'secret"',
    b'token"',
    b"credential",
    b'authorization"',
)


@functools.lru_cache(maxsize=4096)
def is_secret_key(name: str) -> bool:
    """Whether a JSON key, header or query parameter called ``name`` holds a credential.

    The rule: lower-case the name, drop ``-`` and ``_``, and look at how it ends (see
    ``SECRET_KEY_ENDINGS``). ``api_key``, ``openai_api_key``, ``apiKey``, ``x-api-key``,
    ``password``, ``client_secret``, ``aws_secret_access_key``, ``access_token``,
    ``github_token``, ``token``, ``credentials``, ``passphrase``,
    ``ocp-apim-subscription-key`` and ``authorization`` are secret; ``max_tokens``,
    ``tokens``, ``token_usage``, ``input_tokens`` and ``api_key_id`` are not. (A JSON
    ``token`` beside a ``logprob`` is generated text, and is kept: see ``Redactor``.)
    """
    if name.endswith(("-", "_")):  # the name must end with the word itself
        return False
    squashed = name.lower().replace("-", "").replace("_", "")
    return squashed.endswith(SECRET_KEY_ENDINGS)


RequestHook = Callable[[RecordedRequest], "RecordedRequest | None"]
ResponseHook = Callable[[RecordedResponse], "RecordedResponse | None"]


class Redactor:
    """Replaces secret values with ``<redacted>`` in what a recording writes.

    ``extra`` names more headers and query parameters (matched case-insensitively); ``keys``
    more JSON keys (exact names, case-insensitive) and ``paths`` JSON-path globs in the
    masking syntax (``config.configurable.tenant``, ``**.credentials[*]``), applied to
    request and response bodies and to each frame's ``data``. ``before_record_request`` and
    ``before_record_response`` get each recorded request / response (already redacted) when
    the cassette is saved, and return it changed (a copy, e.g. ``dataclasses.replace``) or
    ``None`` to leave the interaction out.
    """

    def __init__(
        self,
        extra: Iterable[str] = (),
        *,
        keys: Iterable[str] = (),
        paths: Iterable[str] = (),
        before_record_request: RequestHook | None = None,
        before_record_response: ResponseHook | None = None,
    ) -> None:
        extra_names = {name.lower() for name in extra}
        self.header_names = DEFAULT_REDACTED_HEADERS | extra_names
        self.query_names = DEFAULT_REDACTED_QUERY | extra_names
        self.keys = frozenset(key.lower() for key in keys)
        self.paths = tuple(paths)
        self.before_record_request = before_record_request
        self.before_record_response = before_record_response
        self._paths = _path_matcher(self.paths) if self.paths else None
        self._needles = _SCAN_NEEDLES + tuple(key.encode() + b'"' for key in sorted(self.keys))

    @classmethod
    def of(cls, redact: Iterable[str] | Redactor) -> Redactor:
        """``redact`` as a Redactor: itself, or one redacting those header/query names."""
        return redact if isinstance(redact, Redactor) else cls(redact)

    def _worth_parsing(self, data: bytes) -> bool:
        """Whether ``data`` may hold a value to redact: a cheap byte search, no parsing.
        With path rules any JSON may, so it always is."""
        if self._paths is not None:
            return True
        lowered = data.lower()
        return any(needle in lowered for needle in self._needles)

    # -- headers and query ----------------------------------------------------------------

    def _secret_name(self, name: str, names: frozenset[str]) -> bool:
        lowered = name.lower()
        return lowered in names or is_secret_key(lowered)

    def headers(self, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        names = self.header_names
        return [(key, REDACTED if self._secret_name(key, names) else value) for key, value in pairs]

    def query(self, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        names = self.query_names
        return [(key, REDACTED if self._secret_name(key, names) else value) for key, value in pairs]

    # -- JSON bodies and frames -----------------------------------------------------------

    def body(self, content: bytes) -> bytes:
        """A body with the secrets in its JSON redacted; other bodies unchanged."""
        if not content or not self._worth_parsing(content):
            return content
        try:
            redacted, changed = self.json(orjson.loads(content))
            return orjson.dumps(redacted) if changed else content
        except (orjson.JSONDecodeError, orjson.JSONEncodeError, RecursionError):
            return self._by_pattern(content)  # not JSON, or nested too deep to walk

    def frame(self, raw: bytes) -> bytes:
        """An SSE frame with the secrets in its ``data`` JSON redacted (the other fields and
        the line endings kept); a frame with nothing to redact is returned as it is."""
        if not self._worth_parsing(raw):
            return raw
        lines = raw.splitlines(keepends=True)
        data_at = [i for i, line in enumerate(lines) if line.startswith(b"data:")]
        if not data_at:
            return raw
        data = b"\n".join(_field_value(lines[i]) for i in data_at)
        try:
            redacted, changed = self.json(orjson.loads(data))
            if not changed:
                return raw
            rewritten = orjson.dumps(redacted)
        except (orjson.JSONDecodeError, orjson.JSONEncodeError, RecursionError):
            return self._by_pattern(raw)  # not JSON, or nested too deep to walk
        first = lines[data_at[0]]
        ending = first[len(first.rstrip(b"\r\n")) :]
        lines[data_at[0]] = b"data: " + rewritten + ending
        for i in reversed(data_at[1:]):
            del lines[i]
        return b"".join(lines)

    def _by_pattern(self, content: bytes) -> bytes:
        """The fallback for what JSON parsing cannot walk (not JSON, or nested deeper than
        the parser goes): every ``"<secret key>": "<string>"`` pair in the bytes gets its
        string redacted. Paths and non-string values need the parse, so they are kept."""

        def replace(match: re.Match[bytes]) -> bytes:
            key = match.group(3).decode("utf-8", "replace")
            if not _is_secret_json_key(key, self.keys) or match.group(4) == b"":
                return match.group(0)
            return match.group(1) + REDACTED.encode() + b'"'

        return _KEY_STRING_PAIR.sub(replace, content)

    def json(self, value: Any) -> tuple[Any, bool]:
        """``value`` with secrets redacted, and whether anything was."""
        start = self._paths.start if self._paths is not None else None
        return self._walk(value, start)

    def _walk(self, value: Any, state: Any) -> tuple[Any, bool]:
        paths = self._paths
        if isinstance(value, dict):
            changed = False
            out: dict[str, Any] = {}
            for key, item in value.items():
                following, hit = paths.step(state, key) if paths and state else (None, None)
                secret = hit is not None or _is_secret_json_key(key, self.keys)
                if secret and key == "token" and hit is None and "logprob" in value:
                    secret = False  # OpenAI log probabilities: the token is generated text
                if secret and _worth_hiding(item):
                    out[key] = REDACTED
                    changed = True
                    continue
                new, item_changed = self._walk(item, following)
                out[key] = new
                changed = changed or item_changed
            return (out, True) if changed else (value, False)
        if isinstance(value, list):
            changed = False
            items: list[Any] = []
            for index, item in enumerate(value):
                following, hit = paths.step(state, index) if paths and state else (None, None)
                if hit is not None and _worth_hiding(item):
                    items.append(REDACTED)
                    changed = True
                    continue
                new, item_changed = self._walk(item, following)
                items.append(new)
                changed = changed or item_changed
            return (items, True) if changed else (value, False)
        return value, False

    # -- hooks ------------------------------------------------------------------------------

    @property
    def has_hooks(self) -> bool:
        return self.before_record_request is not None or self.before_record_response is not None

    def apply_hooks(self, cassette: Cassette) -> None:
        """Run the user's hooks over a finished recording, before it is saved."""
        if not self.has_hooks:
            return
        kept: list[Interaction] = []
        for interaction in cassette.interactions:
            hooked = self.hooked(interaction)
            if hooked is not None:
                kept.append(hooked)
        cassette.interactions = kept

    def hooked(self, interaction: Interaction) -> Interaction | None:
        """One interaction through the user's hooks: changed, or None to leave it out."""
        if not self.has_hooks:
            return interaction
        request: RecordedRequest | None = interaction.request
        if self.before_record_request is not None:
            request = self.before_record_request(interaction.request)
            if request is None:
                return None
        response = interaction.response
        if response is not None and self.before_record_response is not None:
            response = self.before_record_response(response)
            if response is None:
                return None
        assert request is not None
        return dataclasses.replace(interaction, request=request, response=response)

    def matchable(self, live: RecordedRequest) -> RecordedRequest:
        """A live request in the form its recording was saved in, for matching in replay
        (unchanged when the request hook would have left it out)."""
        if self.before_record_request is None:
            return live
        hooked = self.before_record_request(live)
        return hooked if hooked is not None else live


# A JSON key and its string value, as bytes: group 1 is everything up to the value's text.
_KEY_STRING_PAIR = re.compile(rb'(("((?:[^"\\]|\\.){1,200})")\s*:\s*")((?:[^"\\]|\\.)*)"')


def _is_secret_json_key(key: str, extra: frozenset[str]) -> bool:
    return is_secret_key(key) or (bool(extra) and key.lower() in extra)


def _worth_hiding(value: Any) -> bool:
    """Everything but null, booleans and empty values: ``"is_secret": true`` stays."""
    return value is not None and not isinstance(value, bool) and value not in ("", [], {})


def _field_value(line: bytes) -> bytes:
    value = line[5:].rstrip(b"\r\n")
    return value[1:] if value.startswith(b" ") else value


def _path_matcher(paths: tuple[str, ...]) -> Any:
    # The masking path-glob syntax, so redact_paths read like mask paths.
    from ._alias import _PathMatcher
    from ._mask_rules import PathRule

    return _PathMatcher([PathRule(path, kind="redacted") for path in paths])
