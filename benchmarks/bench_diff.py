"""How fast ``diff_cassettes`` is, as ratios against baselines measured in the same run.

Two ``updates`` streams of agent turns (an AI message calling a tool, the tool's answer, the
final answer: real LangGraph frame shapes with fresh UUIDs, ``lc_run--`` and ``call_`` ids in
each stream) that are equal after masking but for one deep difference in the middle: a tool
call's argument. Measured:

- ``diff``: ``diff_cassettes(recorded, live)`` from the raw recorded frames (masking included);
- ``parse``: only parsing both streams' frames, SSE fields (``RecordedFrame.parse``) then JSON
  (``orjson.loads``), which any reader of a stream pays;
- ``json``: ``orjson.loads`` alone on data already split out of the frames (a lower bound);
- ``naive``: ``DeepDiff`` of the two full lists of already-masked frames (masking not timed).

Targets: diff at least 50x faster than naive, and within 2x of parse.

Run: ``.venv/bin/python benchmarks/bench_diff.py [--frames 10000 100000] [--naive-max N]``
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from deepdiff import DeepDiff

from streamcassette import (
    Cassette,
    Interaction,
    RecordedFrame,
    RecordedRequest,
    RecordedResponse,
    RecordedStream,
    diff_cassettes,
    mask_cassette,
)
from streamcassette._cassette import Body


def _message(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "content": "",
        "additional_kwargs": {},
        "response_metadata": {},
        "type": "ai",
        "name": None,
        "id": None,
    }
    base.update(fields)
    return base


def agent_frames(turns: int, rng: random.Random, changed_turn: int | None) -> list[bytes]:
    """The data of ``3 * turns`` updates frames, with this stream's own volatile ids."""
    frames: list[bytes] = []

    def new_uuid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    for turn in range(turns):
        call_id = "call_" + "".join(rng.choices("0123456789abcdef", k=24))
        query = f"weather in city {turn}"
        if turn == changed_turn:
            query = f"weather in town {turn}"
        ai_call = _message(
            id=f"lc_run--{new_uuid()}",
            tool_calls=[
                {"name": "search", "args": {"query": query}, "id": call_id, "type": "tool_call"}
            ],
            invalid_tool_calls=[],
            usage_metadata=None,
        )
        tool = _message(
            content=f"City {turn}: sunny, 72 degrees Fahrenheit, light breeze from the west.",
            type="tool",
            name="search",
            id=new_uuid(),
            tool_call_id=call_id,
            artifact=None,
            status="success",
        )
        answer = _message(
            content=f"The weather in city {turn} is sunny and 72 degrees.",
            id=f"lc_run--{new_uuid()}",
            tool_calls=[],
            invalid_tool_calls=[],
            usage_metadata=None,
        )
        frames.append(orjson.dumps({"agent": {"messages": [ai_call]}}))
        frames.append(orjson.dumps({"action": {"messages": [tool]}}))
        frames.append(orjson.dumps({"agent": {"messages": [answer]}}))
    return frames


def cassette(n_frames: int, seed: int, changed: bool) -> Cassette:
    rng = random.Random(seed)
    turns = n_frames // 3
    thread, run = uuid.UUID(int=rng.getrandbits(128)), uuid.UUID(int=rng.getrandbits(128))
    datas = [orjson.dumps({"run_id": str(run), "attempt": 1})]
    datas += agent_frames(turns, rng, turns // 2 if changed else None)
    raws = [b"event: metadata\r\ndata: " + datas[0] + b"\r\n\r\n"]
    raws += [b"event: updates\r\ndata: " + data + b"\r\n\r\n" for data in datas[1:]]
    stream = RecordedStream(frames=[RecordedFrame(i * 0.001, raw) for i, raw in enumerate(raws)])
    request = RecordedRequest(
        "POST",
        f"/threads/{thread}/runs/stream",
        body=Body(b'{"input":{"messages":[]},"stream_mode":["updates"],"assistant_id":"agent"}'),
    )
    response = RecordedResponse(200, [("location", f"/threads/{thread}/runs/{run}/stream")])
    response.stream = stream
    return Cassette([Interaction(request, response)])


def best_of(repeats: int, *fns: Callable[[], object]) -> list[float]:
    """The least CPU time of each function over ``repeats`` rounds, run in turn each round,
    so that a busy machine slows them alike (CPU time: other processes do not count)."""
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for position, fn in enumerate(fns):
            gc.collect()
            start = time.process_time()
            fn()
            best[position] = min(best[position], time.process_time() - start)
    return best


def parse_streams(*cassettes: Cassette) -> None:
    for one in cassettes:
        for _, interaction in one.streams():
            assert interaction.response is not None
            assert interaction.response.stream is not None
            for frame in interaction.response.stream.frames:
                data = frame.parse().data
                if data is not None:
                    orjson.loads(data)


def parse_json(datas: list[str | None]) -> None:
    for data in datas:
        if data is not None:
            orjson.loads(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--naive-max",
        type=int,
        default=10_000,
        help="largest stream the naive DeepDiff runs on (it is quadratic-ish and slow)",
    )
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}; best of {args.repeats}; times in seconds")
    failed = False
    for n_frames in args.frames:
        recorded = cassette(n_frames, seed=1, changed=False)
        live = cassette(n_frames, seed=2, changed=True)
        report = diff_cassettes(recorded, live)
        differences = report.differences
        assert len(differences) == 1, report.render_text()
        assert "args.query" in differences[0].lines()[0], report.render_text()

        datas = [
            frame.parse().data
            for one in (recorded, live)
            for _, interaction in one.streams()
            for frame in interaction.response.stream.frames  # type: ignore[union-attr]
        ]
        t_diff, t_parse, t_json = best_of(
            args.repeats,
            lambda: diff_cassettes(recorded, live),  # noqa: B023
            lambda: parse_streams(recorded, live),  # noqa: B023
            lambda: parse_json(datas),  # noqa: B023
        )
        line = (
            f"{n_frames:>7} frames: diff {t_diff:.3f}  parse {t_parse:.3f}  json {t_json:.3f}"
            f"  | diff/parse {t_diff / t_parse:.2f}x  diff/json {t_diff / t_json:.2f}x"
        )
        if n_frames <= args.naive_max:
            ours_masked = [frame.data for frame in mask_cassette(recorded)[0].frames]
            theirs_masked = [frame.data for frame in mask_cassette(live)[0].frames]
            (t_naive,) = best_of(1, lambda: DeepDiff(ours_masked, theirs_masked))  # noqa: B023
            speedup = t_naive / t_diff
            line += f"  | naive {t_naive:.2f}  naive/diff {speedup:.0f}x"
            failed |= speedup < 50
        failed |= t_diff / t_parse > 2
        print(line, flush=True)
    print("targets: naive/diff >= 50x, diff/parse <= 2x:", "MISSED" if failed else "met")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
