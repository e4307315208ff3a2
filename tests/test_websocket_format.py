"""WebSocket interactions in the cassette format: written one message a line, read back."""

from __future__ import annotations

import json

import pytest

from streamcassette import Cassette, CassetteFormatError, dumps, loads
from streamcassette._cassette import (
    Interaction,
    RecordedMessage,
    RecordedRequest,
    RecordedResponse,
    RecordedWebSocket,
    StreamEnd,
)
from streamcassette._websocket import how_it_closed

SUBSCRIBE = '{"id":1,"method":"subscription.subscribe","params":{"channels":["values"]}}'
EVENT = '{"type":"event","seq":1,"method":"values","params":{"namespace":[],"data":{}}}'


def _cassette(websocket: RecordedWebSocket) -> Cassette:
    request = RecordedRequest("WEBSOCKET", "/threads/t1/stream/events")
    response = RecordedResponse(101, [("upgrade", "websocket")], websocket=websocket)
    return Cassette([Interaction(request, response, started=0.25)])


def test_websocket_round_trips_with_text_and_binary_messages() -> None:
    """Messages both ways, text and binary, the close code and reason survive a save."""
    websocket = RecordedWebSocket(
        messages=[
            RecordedMessage(0.001, True, SUBSCRIBE),
            RecordedMessage(0.5, False, EVENT),
            RecordedMessage(0.6, False, b"\x00\xff"),
        ],
        end=StreamEnd.CLIENT_STOPPED,
        duration=0.9,
        close_code=1000,
        close_reason="client close",
    )
    loaded = loads(dumps(_cassette(websocket)))
    interaction = loaded.interactions[0]
    assert interaction.is_websocket
    assert interaction.response is not None
    assert interaction.response.websocket == websocket
    assert interaction.started == 0.25


def test_each_message_is_one_readable_line() -> None:
    """A message is one line: time, direction, and the text itself (not base64)."""
    text = dumps(_cassette(RecordedWebSocket([RecordedMessage(0.5, False, EVENT)])))
    lines = [line.strip() for line in text.splitlines()]
    assert f'[0.5, "<", {json.dumps(EVENT)}]' in lines


def test_a_bad_direction_names_the_message() -> None:
    """A message whose direction is not > or < fails with its JSON path."""
    text = dumps(_cassette(RecordedWebSocket([RecordedMessage(0.5, False, EVENT)])))
    broken = text.replace('"<"', '"?"')
    with pytest.raises(CassetteFormatError, match=r"interactions\[0\]\.response\.websocket"):
        loads(broken)


def test_a_closed_connection_says_who_closed_it() -> None:
    """``show`` says who closed a connection, with the close code."""
    by_server = RecordedWebSocket(end=StreamEnd.CLOSED, close_code=1011)
    assert how_it_closed(by_server) == "closed by the server (1011)"
    assert how_it_closed(RecordedWebSocket(end=StreamEnd.DROPPED)) == "dropped"
