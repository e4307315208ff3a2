"""Record, replay and diff the Server-Sent-Event streams of LangGraph API servers.

Data flow, one module each: ``_sse`` (bytes <-> frames) -> ``_cassette`` / ``_format``
(the model and its file) -> ``_record`` (tee transport) -> ``_replay`` (fake transport)
-> ``_sdk`` (SDK clients and ``use_cassette``).
"""

from ._cassette import (
    Body,
    Cassette,
    Interaction,
    RecordedError,
    RecordedFrame,
    RecordedRequest,
    RecordedResponse,
    RecordedStream,
    StreamEnd,
)
from ._errors import (
    CassetteFormatError,
    CassetteNotFoundError,
    StreamCassetteError,
    UnmatchedRequestError,
    UnsupportedVersionError,
)
from ._format import CURRENT_VERSION, SUPPORTED_VERSIONS, dumps, load, loads, save
from ._match import DEFAULT_MATCH_ON, MATCHERS, Matcher
from ._record import AsyncRecordingTransport, RecordingTransport
from ._redact import DEFAULT_REDACTED_HEADERS, Redactor
from ._replay import CassetteEndError, RepeatPolicy, ReplayTransport
from ._sdk import CassetteSession, Mode, replay_client, replay_sync_client, use_cassette
from ._sse import FrameDecoder, SSEFrame, encode_frames, parse_frame

__version__ = "0.1.0"

__all__ = [
    "CURRENT_VERSION",
    "DEFAULT_MATCH_ON",
    "DEFAULT_REDACTED_HEADERS",
    "MATCHERS",
    "SUPPORTED_VERSIONS",
    "AsyncRecordingTransport",
    "Body",
    "Cassette",
    "CassetteEndError",
    "CassetteFormatError",
    "CassetteNotFoundError",
    "CassetteSession",
    "FrameDecoder",
    "Interaction",
    "Matcher",
    "Mode",
    "RecordedError",
    "RecordedFrame",
    "RecordedRequest",
    "RecordedResponse",
    "RecordedStream",
    "RecordingTransport",
    "Redactor",
    "RepeatPolicy",
    "ReplayTransport",
    "SSEFrame",
    "StreamCassetteError",
    "StreamEnd",
    "UnmatchedRequestError",
    "UnsupportedVersionError",
    "dumps",
    "encode_frames",
    "load",
    "loads",
    "parse_frame",
    "replay_client",
    "replay_sync_client",
    "save",
    "use_cassette",
]
