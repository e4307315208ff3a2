"""A syrupy extension that stores a LangGraph stream masked and readable, one file per test.

``assert parts == stream_snapshot`` (or ``snapshot(extension_class=StreamSnapshotExtension)``)
writes ``__snapshots__/<module>/<test>.stream.txt``::

    # streamcassette stream snapshot v1 (masked)

    event: metadata
    {
      "run_id": "<run_id>",
      "attempt": 1
    }

    event: updates
    ...

v3 thread events (the dicts ``thread.events`` yields) are named by their channel and kept
whole, as their SSE frames are: ``event: values`` and the event's JSON, its ``seq``,
``event_id`` and ``timestamp`` masked.

Volatile values (run and thread ids, timestamps, ...) are masked with the same rules as
drift runs, so the file only changes when behaviour does; ``pytest --snapshot-update``
rewrites it. The roles, as syrupy splits them: serializer (``serialize``: parts to text),
storage (syrupy's single-file storage, text mode), comparator (text equality), reporter
(syrupy's line diff through ``pytest_assertrepr_compare``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode
from syrupy.types import PropertyFilter, PropertyMatcher, SerializableData, SerializedData

from streamcassette import Cassette, RecordedStream, SSEFrame
from streamcassette._alias import Masker
from streamcassette._mask_rules import MaskRules
from streamcassette.protocols import threads

__all__ = ["HEADER", "StreamSnapshotExtension", "render_stream", "stream_snapshot"]

HEADER = "# streamcassette stream snapshot v1 (masked)"


def _parts(data: Any) -> Iterable[tuple[str, Any]]:
    """``(event, data)`` pairs from SDK stream parts, tuples, dicts, frames or a cassette."""
    if isinstance(data, Cassette):
        for interaction in data.interactions:
            # A v3 WebSocket event stream reads as the SSE stream it stands for.
            as_sse = interaction if interaction.is_stream else threads.as_event_stream(interaction)
            response = as_sse.response if as_sse is not None else None
            if response is not None and response.stream is not None:
                yield from _parts(response.stream)
        return
    if isinstance(data, RecordedStream):
        yield from _parts(list(data.events()))
        return
    if isinstance(data, (str, bytes, Mapping)):
        msg = (
            "a stream snapshot needs a list of stream parts (e.g. the StreamPart items of "
            "client.runs.stream(...) or the events of client.threads.stream(...)), a "
            f"RecordedStream or a Cassette; got {type(data).__name__}"
        )
        raise TypeError(msg)
    for part in data:
        if isinstance(part, SSEFrame):
            try:
                value: Any = json.loads(part.data) if part.data else None
            except ValueError:
                value = part.data
            yield part.event or "message", value
        elif isinstance(part, Mapping) and threads.event_of(part) is not None:
            # A v3 event (``thread.events``): named by its channel, whole, as its SSE frame.
            yield str(part.get("method", "event")), part
        elif isinstance(part, Mapping) and "event" in part:
            yield str(part["event"]), part.get("data")
        elif isinstance(part, Mapping) and "type" in part:  # SDK stream v2 parts
            yield str(part["type"]), {key: value for key, value in part.items() if key != "type"}
        elif hasattr(part, "event") and hasattr(part, "data"):
            yield str(part.event), part.data
        elif isinstance(part, tuple) and len(part) == 2:
            yield str(part[0]), part[1]
        else:
            msg = f"cannot read a stream part from {part!r}; expected (event, data)"
            raise TypeError(msg)


def render_stream(
    data: Any, *, modes: Iterable[str] | None = None, rules: MaskRules | None = None
) -> str:
    """The readable, masked text of a stream: one block per event, JSON indented."""
    wanted = None if modes is None else set(modes)
    masker = Masker(rules)  # one masker: one set of aliases for the whole stream
    blocks = [HEADER]
    for event, value in _parts(data):
        if wanted is not None and event.split("|", 1)[0] not in wanted:
            continue
        event, value = mask_event(masker, event, value)
        body = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
        blocks.append(f"event: {event}\n{body}")
    return "\n\n".join(blocks) + "\n"


def mask_event(masker: Masker, event: str, value: Any) -> tuple[str, Any]:
    """An event name and its data, masked with one stream's aliases.

    Data that is not plain JSON (objects a test built itself) is shown through ``repr``.
    """
    try:
        masked = masker.mask_value(value)
    except TypeError:
        masked = masker.mask_value(json.loads(json.dumps(value, default=repr)))
    return masker.mask_text(event), masked


class StreamSnapshotExtension(SingleFileSnapshotExtension):
    """Stores stream parts as masked, readable text; see the module docstring."""

    _write_mode = WriteMode.TEXT
    file_extension = "stream.txt"
    # Event types to keep (``None``: all of them) and mask rules (``None``: the defaults).
    modes: ClassVar[tuple[str, ...] | None] = None
    mask_rules: ClassVar[MaskRules | None] = None

    @classmethod
    def with_options(
        cls, *, modes: Iterable[str] | None = None, mask: Any = None
    ) -> type[StreamSnapshotExtension]:
        """A subclass that keeps only ``modes`` and masks with ``mask`` (MaskRules/dict)."""
        from ._settings import Settings, build_mask_rules

        rules = build_mask_rules(Settings(mask=() if mask is None else (mask,)))
        attributes = {
            "modes": None if modes is None else tuple(modes),
            "mask_rules": rules,
        }
        return type("StreamSnapshotExtension", (cls,), attributes)

    def serialize(
        self,
        data: SerializableData,
        *,
        exclude: PropertyFilter | None = None,
        include: PropertyFilter | None = None,
        matcher: PropertyMatcher | None = None,
    ) -> SerializedData:
        return render_stream(data, modes=self.modes, rules=self.mask_rules)


@pytest.fixture
def stream_snapshot(snapshot: SnapshotAssertion, request: pytest.FixtureRequest) -> Any:
    """``snapshot`` with :class:`StreamSnapshotExtension`, masking with this test's rules;
    under ``--record-streams`` a missing snapshot is written."""
    from ._fixtures import resolve_settings
    from ._settings import build_mask_rules
    from ._state import STATE_KEY

    item = request.node
    assert isinstance(item, pytest.Item)
    state = request.config.stash[STATE_KEY]
    config = request.getfixturevalue("stream_cassette_config")
    settings = resolve_settings(item, state, config)
    extension = type(
        "StreamSnapshotExtension",
        (StreamSnapshotExtension,),
        {"mask_rules": build_mask_rules(settings)},
    )
    assertion = snapshot.use_extension(extension)
    if state.options.record is not None:
        # A recording run writes the stream snapshots that do not exist yet (as
        # --snapshot-update-new-only would), so a new test records in one command; existing
        # snapshots are still compared: drift is never written over silently.
        assertion.update_new_snapshots_only = True
    return assertion
