"""What the diff compares. What a client did not read is not drift: frames one side streamed
after the other side's client closed its stream are not compared, and nothing else is
excused. What a graph streams is: a runs stream's keys named like the v3 protocol's are not
masked away."""

from __future__ import annotations

import json

import pytest

import streamcassette as sc
from streamcassette import Cassette, StreamEnd, diff_cassettes


def stream(events: list[tuple[str, object]], end: StreamEnd) -> Cassette:
    frames = [
        sc.RecordedFrame(0.01 * n, f"event: {name}\r\ndata: {json.dumps(data)}\r\n\r\n".encode())
        for n, (name, data) in enumerate(events)
    ]
    response = sc.RecordedResponse(200, [("content-type", "text/event-stream")])
    response.stream = sc.RecordedStream(frames=frames, end=end)
    request = sc.RecordedRequest("POST", "/threads/t/runs/stream")
    return Cassette([sc.Interaction(request, response)])


RUN = [("metadata", {"run_id": "r"}), ("values", {"n": 1}), ("values", {"n": 2})]
LATE = ("values", {"n": 3})
STOPPED, CLOSED = StreamEnd.CLIENT_STOPPED, StreamEnd.CLOSED


@pytest.mark.parametrize("late_side", ["live", "recorded"])
def test_frames_after_the_other_client_stopped_reading_are_not_compared(late_side: str) -> None:
    """A stream its client closed after ``n: 2`` says nothing about ``n: 3``, which the other
    run's client read: equal, with the frame counted as not compared."""
    short, long = stream(RUN, STOPPED), stream([*RUN, LATE], STOPPED)
    recorded, live = (short, long) if late_side == "live" else (long, short)
    report = diff_cassettes(recorded, live, modes=["values"])
    assert report.equal, report.render_text()
    assert report.streams[0].unheard_frames == 1
    assert "1 frame after a client stopped reading not compared" in report.summary()
    assert report.to_json()["streams"][0]["unheard_frames"] == 1


@pytest.mark.parametrize(
    ("short", "long", "expected"),
    [
        # the server ended the recorded stream: the live frame is new behaviour
        (stream(RUN, CLOSED), stream([*RUN, LATE], CLOSED), "live but not in the recording"),
        # the extra frame comes before the last one the stopped client read
        (
            stream(RUN, STOPPED),
            stream([*RUN[:2], LATE, RUN[2]], STOPPED),
            "live but not in the recording",
        ),
        # the stopped client read a later frame of a mode not compared: where the extra frame
        # falls against it is unknown
        (
            stream([*RUN, ("custom", {"x": 1})], STOPPED),
            stream([*RUN, LATE, ("custom", {"x": 1})], STOPPED),
            "live but not in the recording",
        ),
        # the stopped client's last frame differs: the streams part before it
        (
            stream([*RUN[:2], ("values", {"n": 9})], STOPPED),
            stream([*RUN, LATE], STOPPED),
            "n: 9 -> ",
        ),
    ],
)
def test_nothing_else_is_excused(short: Cassette, long: Cassette, expected: str) -> None:
    report = diff_cassettes(short, long, modes=["values"])
    assert not report.equal
    assert report.streams[0].unheard_frames == 0
    assert expected in report.render_text(), report.render_text()


def test_a_runs_streams_keys_named_like_the_v3_protocols_are_the_graphs() -> None:
    """``seq``, ``since``, ``event_id`` and an epoch-ms ``timestamp`` are masked in v3 thread
    streams; in a runs stream they are a graph's state, whose change is drift."""
    state = {"seq": 1, "since": 4, "event_id": "e-1", "timestamp": 1795299470845}
    changed = {"seq": 2, "since": 5, "event_id": "e-2", "timestamp": 1795299470846}
    recorded = stream([("values", state)], CLOSED)
    live = stream([("values", changed)], CLOSED)
    report = diff_cassettes(recorded, live, modes=["values"])
    text = report.render_text()
    for change in ("seq: 1 -> 2", "since: 4 -> 5", "event_id: 'e-1' -> 'e-2'", "timestamp:"):
        assert change in text, text
    custom = sc.MaskRules.default().extend(keys=[sc.KeyRule("seq", "counter")])
    masked = diff_cassettes(recorded, live, modes=["values"], rules=custom).render_text()
    assert "seq: " not in masked  # a user's own rule for the key applies
