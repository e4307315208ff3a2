"""Redaction of secrets before anything is written: header and query values by name."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["DEFAULT_REDACTED_HEADERS", "REDACTED", "Redactor"]

REDACTED = "<redacted>"

DEFAULT_REDACTED_HEADERS = frozenset(
    {"x-api-key", "authorization", "cookie", "set-cookie", "proxy-authorization"}
)
DEFAULT_REDACTED_QUERY = frozenset({"api_key", "apikey", "access_token", "token"})


class Redactor:
    """Replaces the values of secret headers and query parameters with ``<redacted>``.

    Names are matched case-insensitively; ``extra`` names apply to both headers and query
    parameters. The name is kept so a cassette still shows that a credential was sent.
    """

    def __init__(self, extra: Iterable[str] = ()) -> None:
        extra_names = {name.lower() for name in extra}
        self.header_names = DEFAULT_REDACTED_HEADERS | extra_names
        self.query_names = DEFAULT_REDACTED_QUERY | extra_names

    def headers(self, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        names = self.header_names
        return [(key, REDACTED if key.lower() in names else value) for key, value in pairs]

    def query(self, pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        names = self.query_names
        return [(key, REDACTED if key.lower() in names else value) for key, value in pairs]
