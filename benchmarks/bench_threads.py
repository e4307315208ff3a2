"""v3 thread-stream benchmark: replay throughput of a ``client.threads.stream()`` session, as
a ratio against the same SDK program fed the same bytes from an in-memory
``httpx.MockTransport`` (the floor), measured in the same run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_threads.py            # 10k and 50k events
    .venv/bin/python benchmarks/bench_threads.py --quick    # small sizes, for a smoke test

Each session: ``run.start``, every event of ``thread.events`` until the run's end (the
lifecycle watcher's stream open beside it), ``thread.output``. Replay is timed from loading
the cassette to the last event, so loading counts. Times are the process's CPU time, in
interleaved rounds rotating who goes first; the ratio is the median over rounds of the
paired ratio (as ``bench_sessions.py`` does; see benchmarks/README.md). Wall-clock time is
shown beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

import streamcassette
from streamcassette import AsyncRecordingTransport, Cassette, load, replay_client, save
from streamcassette._record import SessionClock

sys.path.insert(0, str(Path(__file__).parent))  # run as a script or imported by the tests
from bench_core import Row, print_table, use_transport
from bench_sessions import paired, rotations

REPLAY_TARGET = 0.9  # replay events/s >= 0.9 x the in-memory floor's

THREAD_ID = "0190e5e0-2b1c-7d3e-9f40-5a6b7c8d9e0f"
RUN_ID = "01a2002f-eb78-7268-ab2b-17904064ccae"
BASE_URL = "http://bench.invalid"  # never resolved: every request hits an in-memory transport
SSE_HEADERS = [
    ("content-type", "text/event-stream; charset=utf-8"),
    ("cache-control", "no-store"),
]
INPUT = {"messages": [{"role": "user", "content": "what's the weather in la"}]}
ANSWER = (
    "The weather in Los Angeles is sunny and 72 degrees with a light breeze from the west "
    "today, a café-au-lait sunrise 🌤 before the marine layer burns off."
)
WORDS = ANSWER.split(" ")


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...]
    rounds: int


FULL = Settings(sizes=(10_000, 50_000), rounds=11)
QUICK = Settings(sizes=(500,), rounds=2)


def _frame(seq: int, method: str, data: Any) -> bytes:
    event = {
        "type": "event",
        "event_id": f"{1795960000000 + seq}-0",
        "seq": seq,
        "method": method,
        "params": {"namespace": [], "timestamp": 1795960000000 + seq, "data": data},
    }
    return b"event: %s\r\ndata: %s\r\nid: %d\r\n\r\n" % (method.encode(), orjson.dumps(event), seq)


def thread_frames(count: int) -> list[bytes]:
    """``count`` events shaped like langgraph-api 0.16.7's v3 stream: lifecycle running, an
    AI message's text deltas, values, lifecycle completed."""
    frames = [_frame(1, "lifecycle", {"event": "running", "graph_name": "agent"})]
    frames.append(_frame(2, "messages", {"event": "message-start", "role": "ai", "id": RUN_ID}))
    deltas = count - 5
    for index in range(deltas):
        delta = {"type": "text-delta", "text": WORDS[index % len(WORDS)] + " "}
        data = {"event": "content-block-delta", "index": 0, "delta": delta}
        frames.append(_frame(3 + index, "messages", data))
    seq = 3 + deltas
    frames.append(_frame(seq, "messages", {"event": "message-finish"}))
    frames.append(_frame(seq + 1, "values", {"messages": [{"type": "ai", "content": "done"}]}))
    frames.append(_frame(seq + 2, "lifecycle", {"event": "completed", "graph_name": "agent"}))
    return frames


def _lifecycle(frames: list[bytes]) -> list[bytes]:
    return [frame for frame in frames if frame.startswith(b"event: lifecycle")]


class _OpenStream(httpx.AsyncByteStream):
    """The chunks, then open until the client closes it, as the server's streams stay (a
    stream that ended would send the SDK into reconnects)."""

    def __init__(self, chunks: list[bytes], *, fresh: bool = False) -> None:
        self.chunks = chunks
        self.fresh = fresh
        self.closed = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.fresh:  # a new bytes object per chunk, as a transport reading a socket makes
            for chunk in self.chunks:
                yield bytes(memoryview(chunk))
        else:
            for chunk in self.chunks:
                yield chunk
        await self.closed.wait()

    async def aclose(self) -> None:
        self.closed.set()


def memory_server(frames: list[bytes], *, fresh: bool = False) -> httpx.MockTransport:
    """The v3 endpoints in memory: ``run.start``, the event streams (each filter gets its
    channels' frames, one chunk each; with ``fresh``, copies made as they are served) and
    the state."""

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/commands"):
            command = orjson.loads(request.content)
            reply = {
                "type": "success",
                "id": command["id"],
                "result": {"run_id": RUN_ID},
                "meta": {"applied_through_seq": 0},
            }
            return httpx.Response(200, json=reply)
        if path.endswith("/stream/events"):
            channels = orjson.loads(request.content)["channels"]
            chunks = frames if "messages" in channels else _lifecycle(frames)
            stream = _OpenStream(chunks, fresh=fresh)
            return httpx.Response(200, headers=SSE_HEADERS, stream=stream)
        if path.endswith("/state"):
            return httpx.Response(200, json={"values": {"messages": []}, "next": []})
        return httpx.Response(404, json={"detail": "Not Found"})

    return httpx.MockTransport(handle)


async def session(client: LangGraphClient, thread_id: str = THREAD_ID) -> int:
    """One v3 session through the SDK; the number of events ``thread.events`` yielded."""
    count = 0
    async with client.threads.stream(thread_id, assistant_id="agent") as thread:
        await thread.run.start(input=INPUT)
        async for event in thread.events:
            count += 1
            params = event.get("params") or {}
            if event.get("method") == "lifecycle" and params.get("data", {}).get("event") in (
                "completed",
                "failed",
            ):
                break
        await thread.output
    await client.aclose()
    return count


async def record(frames: list[bytes], path: Path) -> None:
    """Record the session against the in-memory server with the real recorder."""
    cassette = Cassette(provenance={"benchmark": "bench_threads"})
    client = get_client(url=BASE_URL, api_key=None)
    recorder = AsyncRecordingTransport(cassette, memory_server(frames), clock=SessionClock())
    use_transport(client, recorder)
    count = await session(client)
    if count != len(frames):
        msg = f"recorded {count} events for {len(frames)} frames"
        raise AssertionError(msg)
    save(cassette, path)


def floor_client(frames: list[bytes], *, fresh: bool = False) -> Callable[[], LangGraphClient]:
    """SDK clients on the in-memory server, built as ``replay_client`` builds its clients
    (``get_client`` would first load the CA bundle for a transport it never uses)."""

    def make() -> LangGraphClient:
        transport = memory_server(frames, fresh=fresh)
        return LangGraphClient(httpx.AsyncClient(base_url=BASE_URL, transport=transport))

    return make


def bench(size: int, rounds: int, folder: Path) -> list[Row]:
    frames = thread_frames(size)
    path = folder / f"threads-{size}.json"
    asyncio.run(record(frames, path))
    load(path)  # warm the page cache, as for the floor's frames in memory
    walls: dict[str, list[float]] = {}
    loop = asyncio.new_event_loop()

    def timed(name: str, make_client: Callable[[], LangGraphClient], thread_id: str) -> float:
        """One session's CPU seconds (its wall-clock seconds kept in ``walls``)."""
        wall, cpu = time.perf_counter(), time.process_time()
        count = loop.run_until_complete(session(make_client(), thread_id))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if count != size:
            msg = f"{name}: the SDK yielded {count} events, expected {size}"
            raise AssertionError(msg)
        walls.setdefault(name, []).append(wall)
        return cpu

    def replayed() -> LangGraphClient:
        return replay_client(path)

    sides = [
        ("floor", lambda: timed("floor", floor_client(frames), THREAD_ID)),
        ("fresh", lambda: timed("fresh", floor_client(frames, fresh=True), THREAD_ID)),
        ("replay", lambda: timed("replay", replayed, THREAD_ID)),
        # The thread id a client mints each session: bound to the recorded one, and every
        # frame served through the rewrite to the client's ids.
        ("minted", lambda: timed("minted", replayed, str(uuid.uuid4()))),
    ]
    try:
        rotations(sides, 1)  # warm-up, not counted: first imports and caches
        walls.clear()
        times = rotations(sides, rounds)
    finally:
        loop.close()

    def row(figure: str, measured: list[float], floor: list[float]) -> Row:
        """Rates (events/s, the rounds' medians) and their paired ratio: the floor's time
        over the measured one; a verdict for the CPU-time figure only."""
        ratio = paired(floor, measured)
        target = figure.startswith("replay")
        return Row(
            figure,
            f"{size / statistics.median(measured):,.0f}",
            f"{size / statistics.median(floor):,.0f}",
            ratio,
            f">= {REPLAY_TARGET}x" if target else "(comparison)",
            ratio >= REPLAY_TARGET if target else None,
        )

    return [
        row(
            f"replay {size:,} v3 events, load included (events/s, CPU time)",
            times["replay"],
            times["floor"],
        ),
        row("  same, wall-clock time", walls["replay"], walls["floor"]),
        row(
            "  same, against a floor that makes each chunk anew (as reading a socket does)",
            times["replay"],
            times["fresh"],
        ),
        row(
            "  same, a thread id the client minted (ids rewritten in every frame)",
            times["minted"],
            times["floor"],
        ),
    ]


def main(settings: Settings) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="bench-threads-") as tmp:
        return [row for size in settings.sizes for row in bench(size, settings.rounds, Path(tmp))]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    args = parser.parse_args()
    settings = QUICK if args.quick else FULL
    print(
        f"streamcassette {streamcassette.__version__}, Python {sys.version.split()[0]}, "
        f"{'quick' if args.quick else 'full'} run"
    )
    print_table(main(settings))
