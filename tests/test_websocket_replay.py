"""Replayed WebSocket connections: chosen by path and first message, ids bound to the
client's, server messages after a client message wait for it, endings as recorded."""

from __future__ import annotations

import json

import anyio
import pytest
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from streamcassette import Cassette, ReplayTransport, UnmatchedWebSocketError
from streamcassette._cassette import (
    Body,
    Interaction,
    RecordedMessage,
    RecordedRequest,
    RecordedResponse,
    RecordedWebSocket,
    StreamEnd,
)
from streamcassette._ws_replay import WebSocketReplayer

RECORDED_THREAD = "11111111-1111-4111-8111-111111111111"
LIVE_THREAD = "22222222-2222-4222-8222-222222222222"
PATH = "/threads/{}/stream/events"
SUBSCRIBE = {"id": 1, "method": "subscription.subscribe", "params": {"channels": ["values"]}}


def _event(seq: int) -> str:
    return json.dumps({"type": "event", "seq": seq, "method": "values", "params": {"data": {}}})


def _connection(messages: list[RecordedMessage], **ending: object) -> Interaction:
    websocket = RecordedWebSocket(messages=messages, **ending)  # type: ignore[arg-type]
    return Interaction(
        RecordedRequest("WEBSOCKET", PATH.format(RECORDED_THREAD)),
        RecordedResponse(101, websocket=websocket),
        started=0.0,
    )


def _subscribed_to_one_event(end: StreamEnd) -> Interaction:
    """A connection that subscribed, got one event, and was closed (with code 1000)."""
    messages = [
        RecordedMessage(0.0, True, json.dumps(SUBSCRIBE)),
        RecordedMessage(0.1, False, _event(1)),
    ]
    return _connection(messages, end=end, close_code=1000)


def _replayer(*interactions: Interaction) -> WebSocketReplayer:
    return WebSocketReplayer(ReplayTransport(Cassette(list(interactions))))


def _url(thread: str) -> str:
    return "ws://streamcassette.invalid" + PATH.format(thread)


@pytest.mark.anyio
async def test_a_connection_is_chosen_by_its_first_message_under_a_new_thread_id() -> None:
    """Two recorded connections to one path: the one whose subscribe matches plays, under
    the client's own thread id."""
    other = {**SUBSCRIBE, "params": {"channels": ["lifecycle"]}}
    lifecycle = _connection(
        [RecordedMessage(0.0, True, json.dumps(other)), RecordedMessage(0.1, False, _event(9))],
        end=StreamEnd.CLOSED,
        close_code=1000,
    )
    values = _subscribed_to_one_event(StreamEnd.CLOSED)
    replayer = _replayer(lifecycle, values)
    async with replayer.async_connect(_url(LIVE_THREAD)) as websocket:
        await websocket.send(json.dumps(SUBSCRIBE))
        received = [message async for message in websocket]
    assert received == [_event(1)]
    assert replayer.transport.played == [False, True]


@pytest.mark.anyio
async def test_an_unknown_first_message_is_explained() -> None:
    """A subscribe no recording sent raises an error naming the path and what differs."""
    recorded = _connection([RecordedMessage(0.0, True, json.dumps(SUBSCRIBE))])
    replayer = _replayer(recorded)
    wanted = {**SUBSCRIBE, "params": {"channels": ["tools"]}}
    async with replayer.async_connect(_url(RECORDED_THREAD)) as websocket:
        difference = r"params\.channels\[0\]: 'values' -> 'tools'"
        with pytest.raises(UnmatchedWebSocketError, match=difference):
            await websocket.send(json.dumps(wanted))


@pytest.mark.anyio
async def test_server_messages_after_a_client_message_wait_for_it() -> None:
    """A reply recorded after the client's second message is not served before it."""
    command = json.dumps({"id": 2, "method": "run.start", "params": {}})
    recorded = _connection(
        [
            RecordedMessage(0.0, True, json.dumps(SUBSCRIBE)),
            RecordedMessage(0.01, False, _event(1)),
            RecordedMessage(0.02, True, command),
            RecordedMessage(0.03, False, _event(2)),
        ],
        end=StreamEnd.DROPPED,
    )
    replayer = _replayer(recorded)
    async with replayer.async_connect(_url(RECORDED_THREAD)) as websocket:
        await websocket.send(json.dumps(SUBSCRIBE))
        assert await websocket.recv() == _event(1)
        with anyio.move_on_after(0.2) as waited:
            await websocket.recv()
        assert waited.cancelled_caught  # the second event waits for the command
        await websocket.send(command)
        assert await websocket.recv() == _event(2)
        with pytest.raises(ConnectionClosedError):  # then it drops, as it did
            await websocket.recv()


@pytest.mark.anyio
async def test_a_connection_the_client_closed_stays_open_until_closed_again() -> None:
    """After its last message a client-closed recording holds the connection open."""
    recorded = _subscribed_to_one_event(StreamEnd.CLIENT_STOPPED)
    replayer = _replayer(recorded)
    async with replayer.async_connect(_url(RECORDED_THREAD)) as websocket:
        await websocket.send(json.dumps(SUBSCRIBE))
        assert await websocket.recv() == _event(1)
        with anyio.move_on_after(0.2) as waited:
            await websocket.recv()
        assert waited.cancelled_caught
        await websocket.close()
    assert websocket.close_code == 1000


@pytest.mark.anyio
async def test_a_refused_handshake_is_refused_again() -> None:
    """A handshake the server refused raises ``InvalidStatus`` with its status."""
    refused = Interaction(
        RecordedRequest("WEBSOCKET", PATH.format(RECORDED_THREAD)),
        RecordedResponse(403, body=Body(b'{"detail":"forbidden"}')),
        started=0.0,
    )
    replayer = _replayer(refused)
    with pytest.raises(InvalidStatus, match="403"):
        async with replayer.async_connect(_url(RECORDED_THREAD)):
            pass


def test_the_sync_connection_replays_too() -> None:
    """The sync stand-in serves the same messages."""
    recorded = _subscribed_to_one_event(StreamEnd.CLOSED)
    with _replayer(recorded).sync_connect(_url(LIVE_THREAD)) as websocket:
        websocket.send(json.dumps(SUBSCRIBE))
        assert list(websocket) == [_event(1)]
