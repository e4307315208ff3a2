"""Record, replay and diff the Server-Sent-Event streams of LangGraph API servers.

Data flow, one module each: ``_sse`` (bytes <-> frames) -> ``_cassette`` / ``_format``
(the model and its file) -> ``_record`` (tee transport) -> ``_replay`` (fake transport)
-> ``_sdk`` (SDK clients and ``use_cassette``); ``_mask_rules`` (what is volatile) -> ``_alias``
(the aliasing engine: volatile values found and aliased) -> ``_masked`` (masked streams) ->
``_diff`` (stream drift in LangGraph terms) -> ``_learn``; ``_config`` ([tool.streamcassette]).
"""

from ._alias import Masker
from ._bind import IdBindings
from ._cassette import (
    AttachedFrames,
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
from ._config import ConfigError, StreamCassetteConfig, load_config, read_config
from ._diff import (
    Change,
    Difference,
    DiffReport,
    Policy,
    StreamComparison,
    diff_cassettes,
    diff_streams,
)
from ._errors import (
    BlockedNetworkError,
    BlockedRequestError,
    CassetteFormatError,
    CassetteNotFoundError,
    EmptyRecordingWarning,
    StreamCassetteError,
    StreamCassetteWarning,
    UnmatchedRequestError,
    UnmatchedWebSocketError,
    UnplayedInteractionsError,
    UnsupportedVersionError,
)
from ._format import (
    ATTACH_FROM,
    CURRENT_VERSION,
    SUPPORTED_VERSIONS,
    attached_file,
    dumps,
    frames_file_path,
    load,
    loads,
    save,
)
from ._learn import LearnedPath, Learning, learn_rules
from ._mask_rules import HeaderRule, KeyRule, MaskRules, PathRule, PatternRule, SseIdRule
from ._masked import MaskedFrame, MaskedStream, mask_cassette, mask_stream
from ._match import DEFAULT_MATCH_ON, MATCHERS, Matcher
from ._record import AsyncRecordingTransport, RecordingTransport
from ._redact import DEFAULT_REDACTED_HEADERS, Redactor, is_secret_key
from ._replay import CassetteEndError, RepeatPolicy, ReplayTransport
from ._sdk import CassetteSession, Mode, replay_client, replay_sync_client, use_cassette
from ._sse import FrameDecoder, SSEFrame, encode_frames, parse_frame

__version__ = "0.1.0"

__all__ = [
    "ATTACH_FROM",
    "CURRENT_VERSION",
    "DEFAULT_MATCH_ON",
    "DEFAULT_REDACTED_HEADERS",
    "MATCHERS",
    "SUPPORTED_VERSIONS",
    "AsyncRecordingTransport",
    "AttachedFrames",
    "BlockedNetworkError",
    "BlockedRequestError",
    "Body",
    "Cassette",
    "CassetteEndError",
    "CassetteFormatError",
    "CassetteNotFoundError",
    "CassetteSession",
    "Change",
    "ConfigError",
    "DiffReport",
    "Difference",
    "EmptyRecordingWarning",
    "FrameDecoder",
    "HeaderRule",
    "IdBindings",
    "Interaction",
    "KeyRule",
    "LearnedPath",
    "Learning",
    "MaskRules",
    "MaskedFrame",
    "MaskedStream",
    "Masker",
    "Matcher",
    "Mode",
    "PathRule",
    "PatternRule",
    "Policy",
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
    "SseIdRule",
    "StreamCassetteConfig",
    "StreamCassetteError",
    "StreamCassetteWarning",
    "StreamComparison",
    "StreamEnd",
    "UnmatchedRequestError",
    "UnmatchedWebSocketError",
    "UnplayedInteractionsError",
    "UnsupportedVersionError",
    "attached_file",
    "diff_cassettes",
    "diff_streams",
    "dumps",
    "encode_frames",
    "frames_file_path",
    "is_secret_key",
    "learn_rules",
    "load",
    "load_config",
    "loads",
    "mask_cassette",
    "mask_stream",
    "parse_frame",
    "read_config",
    "replay_client",
    "replay_sync_client",
    "save",
    "use_cassette",
]
