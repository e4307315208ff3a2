"""Bounds on what ``serve`` and ``proxy`` accept: request body size, and echoes in errors.

A client can send anything: a 200 MiB body must not be read into memory (and echoed back
in a 404), only refused with a LangGraph-style JSON error.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

__all__ = ["DEFAULT_MAX_BODY", "BodyTooLarge", "clip", "read_body", "too_large"]

DEFAULT_MAX_BODY = 4 << 20  # 4 MiB: far above any LangGraph request (an input, a config)

# How much of a value an error message echoes back.
ECHO_CHARS = 300


class BodyTooLarge(Exception):
    """A request body over the limit; nothing past the limit was read."""


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, or :class:`BodyTooLarge` as soon as it passes ``limit`` bytes
    (at once when its ``Content-Length`` says so)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(who: str, limit: int, option: str) -> JSONResponse:
    """The 413 for a body over ``limit``, saying how to raise the limit."""
    detail = (
        f"{who}: the request body is larger than {limit} bytes; nothing was read past that. "
        f"Raise the limit with {option} if this request is meant to be this big."
    )
    return JSONResponse({"detail": detail}, status_code=413)


def clip(text: str, limit: int = ECHO_CHARS) -> str:
    """``text``, or its start and how much was left out, for echoing in an error."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"
