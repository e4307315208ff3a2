"""Session benchmark: what a cassette session costs the code under test, as ratios against a
baseline measured in the same run.

* recording throughput: the SDK's async client streaming N frames while a recording session
  intercepts it, against the same client with no session;
* replay on the session clock: a replayed stream whose interaction carries ``started`` (the
  cursor path) against the SDK reading the same bytes from memory, and against the same
  cassette without ``started`` (the hot path);
* interception per request: a plain ``httpx.Client`` whose requests the active session
  intercepts (the patched ``HTTPTransport.handle_request``) against a client built on the
  replay transport directly; and a request to a host no session claims, with a recording
  session active against no session.

Run from the repository root::

    .venv/bin/python benchmarks/bench_sessions.py            # 10k and 100k frames
    .venv/bin/python benchmarks/bench_sessions.py --quick    # small sizes, for a smoke test

See benchmarks/README.md for what each figure means. It prints PASS or MISS and exits 0
either way; it exits non-zero only if a recording or a replay is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpcore
import httpx
import orjson
from bench_core import (
    BASE_URL,
    RUN_BODY,
    RUN_PATH,
    SSE_HEADERS,
    THREAD_ID,
    Row,
    first_stream,
    langgraph_frames,
    memory_client,
    print_table,
    stream_run,
)
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

import streamcassette
from streamcassette import CassetteSession, load, save

# Targets from issue 9 ("Recording cost").
RECORD_TARGET = 1.05  # recording through a session <= 1.05 x the time without one
REPLAY_TARGET = 0.95  # replay events/s >= 0.95 x the SDK floor's
PATCH_TARGET_US = 20.0  # interception adds <= 20 us per request

STREAM_REQUEST = (b"POST", f"/threads/{THREAD_ID}/runs/stream".encode())
SMALL_PATH = "/assistants/search"  # the small interaction requested again and again
SMALL_BODY = orjson.dumps([{"assistant_id": "fe096781", "graph_id": "agent", "name": "agent"}])
ELSEWHERE = "http://elsewhere.invalid"  # a host no session claims


@dataclass(frozen=True)
class Settings:
    sizes: tuple[int, ...]
    rounds: int  # interleaved rounds of every streaming figure; the best of each counts
    requests: int  # requests per round of the per-request figures
    request_rounds: int


FULL = Settings(sizes=(10_000, 100_000), rounds=11, requests=2_000, request_rounds=15)
QUICK = Settings(sizes=(500, 2_000), rounds=2, requests=100, request_rounds=2)


# --- an in-memory connection pool ------------------------------------------------------
#
# The clients below keep httpx's own HTTPTransport / AsyncHTTPTransport (the classes a
# session patches), with the connection pool underneath replaced by one that answers from
# memory: the request still goes through httpx's transport code, the session's
# interception and the recorder exactly as it would to a server, with no socket noise.


class MemoryPool:
    """An httpcore pool answering the run stream with ``frames`` (one chunk each), the run
    status check, and ``SMALL_PATH`` / any other path with a small JSON body."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = frames
        self.sse_headers = [(name.encode(), value.encode()) for name, value in SSE_HEADERS]

    def _json(self, request: httpcore.Request) -> tuple[list[tuple[bytes, bytes]], bytes]:
        body = orjson.dumps(RUN_BODY) if request.url.target == RUN_PATH.encode() else SMALL_BODY
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        return headers, body

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        if (request.method, request.url.target) == STREAM_REQUEST:
            return httpcore.Response(200, headers=self.sse_headers, content=_chunks(self.frames))
        headers, body = self._json(request)
        return httpcore.Response(200, headers=headers, content=_chunks([body]))

    def handle_request(self, request: httpcore.Request) -> httpcore.Response:
        headers, body = self._json(request)
        return httpcore.Response(200, headers=headers, content=iter([body]))

    async def aclose(self) -> None:
        pass

    def close(self) -> None:
        pass


async def _chunks(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def pooled_sdk_client(frames: list[bytes]) -> LangGraphClient:
    """``get_client(url=...)`` as users build it, its transport's pool in memory."""
    client = get_client(url=BASE_URL, api_key=None)
    transport = client.http.client._transport
    if not isinstance(transport, httpx.AsyncHTTPTransport):
        msg = f"get_client built a {type(transport).__name__}, not an AsyncHTTPTransport"
        raise TypeError(msg)
    transport._pool = MemoryPool(frames)  # type: ignore[assignment]
    return client


def pooled_client(**kwargs: object) -> httpx.Client:
    """A plain ``httpx.Client`` whose HTTPTransport's pool answers from memory."""
    client = httpx.Client(**kwargs)  # type: ignore[arg-type]
    transport = client._transport
    assert isinstance(transport, httpx.HTTPTransport)
    transport._pool = MemoryPool([])  # type: ignore[assignment]
    return client


Rounds = dict[str, list[float]]


def rotations(makers: list[tuple[str, Callable[[], float]]], rounds: int) -> Rounds:
    """Each maker's CPU seconds in each of ``rounds`` rounds, rotating who goes first."""
    times: Rounds = {name: [] for name, _ in makers}
    for repeat in range(rounds):
        shift = repeat % len(makers)
        for name, measure in makers[shift:] + makers[:shift]:
            gc.collect()
            times[name].append(measure())
    return times


def paired(measured: list[float], baseline: list[float]) -> float:
    """The median over rounds of measured / baseline: the two of a round ran back to back,
    so whatever else the machine did then weighs on both."""
    return statistics.median(m / b for m, b in zip(measured, baseline, strict=True))


# --- recording throughput --------------------------------------------------------------


def bench_recording(size: int, rounds: int, folder: Path) -> list[Row]:
    frames = langgraph_frames(size)
    raw = b"".join(frames)
    client = pooled_sdk_client(frames)

    async def direct() -> float:
        start = time.process_time()
        count = await stream_run(client)
        elapsed = time.process_time() - start
        check_count(count, size)
        return elapsed

    async def record() -> tuple[float, CassetteSession]:
        session = CassetteSession(folder / "recording.json", mode="record")  # not timed
        start = time.process_time()
        with session:
            count = await stream_run(client)
        elapsed = time.process_time() - start
        check_count(count, size)
        return elapsed, session

    def split(session: CassetteSession) -> float:
        """Seconds to read the recording's frames (which splits them); checks every byte."""
        start = time.process_time()
        stream = first_stream(session.cassette)
        frames_read = len(stream.frames)
        elapsed = time.process_time() - start
        if frames_read != size or stream.raw != raw:
            msg = f"recording is not byte-exact: {frames_read} frames for {size}"
            raise AssertionError(msg)
        return elapsed

    loop = asyncio.new_event_loop()
    try:
        times = rotations(
            [
                ("direct", lambda: loop.run_until_complete(direct())),
                ("recording", lambda: loop.run_until_complete(record())[0]),
            ],
            rounds,
        )
        # The split is timed after the rounds, on recordings of its own: splitting and
        # checking 100k frames leaves the heap churned for whichever round would run next.
        split_times = [split(loop.run_until_complete(record())[1]) for _ in range(3)]
        loop.run_until_complete(client.aclose())
    finally:
        loop.close()
    direct_ms = statistics.median(times["direct"]) * 1e3
    recorded, split_time = times["recording"], statistics.median(split_times)
    ratio = paired(recorded, times["direct"])
    with_split = statistics.median(recorded) + split_time
    return [
        Row(
            f"record {size:,} frames through a session (ms)",
            f"{statistics.median(recorded) * 1e3:,.1f}",
            f"{direct_ms:,.1f}",
            ratio,
            f"<= {RECORD_TARGET}x",
            ratio <= RECORD_TARGET,
        ),
        Row(
            "  same, plus splitting the frames when first read (ms)",
            f"{with_split * 1e3:,.1f}",
            f"{direct_ms:,.1f}",
            with_split / statistics.median(times["direct"]),
            f"({split_time / size * 1e6:.2f} us/frame)",
            None,
        ),
    ]


def check_count(count: int, expected: int) -> None:
    if count != expected:
        msg = f"the SDK yielded {count} events, expected {expected}"
        raise AssertionError(msg)


# --- replay on the session clock -------------------------------------------------------


def bench_replay(size: int, rounds: int, folder: Path) -> list[Row]:
    frames = langgraph_frames(size)
    stamped = folder / f"replay-{size}.json"
    with CassetteSession(stamped, mode="record") as session:
        asyncio.run(stream_run(pooled_sdk_client(frames)))
    session.cassette.provenance["server"] = {"version": "benchmark"}  # no /info to ask
    session.save()
    cassette = load(stamped)
    if not all(interaction.started is not None for interaction in cassette.interactions):
        msg = "the recording session did not stamp every interaction with its start"
        raise AssertionError(msg)
    for interaction in cassette.interactions:
        interaction.started = None
    unstamped = save(cassette, folder / f"replay-{size}-unstamped.json")

    async def timed(client: LangGraphClient) -> float:
        start = time.process_time()
        count = await stream_run(client)
        elapsed = time.process_time() - start
        await client.aclose()
        check_count(count, size)
        return elapsed

    # Every client is built (its cassette loaded) before its timing: what is compared is
    # reading the stream, which is where the session clock's cursor runs.
    loop = asyncio.new_event_loop()
    try:
        times = rotations(
            [
                ("floor", lambda: loop.run_until_complete(timed(memory_client(frames)))),
                (
                    "cursor",
                    lambda: loop.run_until_complete(timed(CassetteSession(stamped).client())),
                ),
                (
                    "hot",
                    lambda: loop.run_until_complete(timed(CassetteSession(unstamped).client())),
                ),
            ],
            rounds,
        )
    finally:
        loop.close()
    floor, cursor, hot = times["floor"], times["cursor"], times["hot"]

    def rate(seconds: list[float]) -> str:
        return f"{size / statistics.median(seconds):,.0f}"

    # Rates: a ratio of events/s is the baseline's time over the measured one.
    ratio = paired(floor, cursor)
    return [
        Row(
            f"replay {size:,} frames on the session clock (events/s)",
            rate(cursor),
            rate(floor),
            ratio,
            f">= {REPLAY_TARGET}x",
            ratio >= REPLAY_TARGET,
        ),
        Row(
            "  same, interactions without started (events/s)",
            rate(hot),
            rate(floor),
            paired(floor, hot),
            f"(cursor/hot {paired(hot, cursor):.3f}x)",
            None,
        ),
    ]


# --- interception per request ----------------------------------------------------------


def per_request_row(figure: str, times: Rounds, measured: str, baseline: str, requests: int) -> Row:
    """Microseconds per request (the rounds' medians), and what ``measured`` adds."""
    per_request = {name: [t / requests * 1e6 for t in times[name]] for name in times}
    added = statistics.median(
        m - b for m, b in zip(per_request[measured], per_request[baseline], strict=True)
    )
    return Row(
        figure,
        f"{statistics.median(per_request[measured]):.1f} us/request ({added:+.1f})",
        f"{statistics.median(per_request[baseline]):.1f} us/request",
        paired(times[measured], times[baseline]),
        f"+ <= {PATCH_TARGET_US:g} us",
        added <= PATCH_TARGET_US,
    )


def bench_interception(settings: Settings, folder: Path) -> list[Row]:
    requests = settings.requests
    path = folder / "small.json"
    with CassetteSession(path, mode="record", urls=[BASE_URL]) as recording:
        client = pooled_client()
        response = client.get(BASE_URL + SMALL_PATH)
        client.close()
        if response.content != SMALL_BODY:
            msg = f"the in-memory server answered {response.content!r}"
            raise AssertionError(msg)
    recording.cassette.provenance["server"] = {"version": "benchmark"}  # no /info to ask
    recording.save()

    session = CassetteSession(path, repeats="last", urls=[BASE_URL])
    direct = httpx.Client(base_url=BASE_URL, transport=session.replayer)
    patched = httpx.Client(base_url=BASE_URL)  # built before timing: it loads the CA bundle

    def replayed(client: httpx.Client) -> float:
        start = time.process_time()
        for _ in range(requests):
            client.get(SMALL_PATH)
        return time.process_time() - start

    def intercepted() -> float:
        with session:
            return replayed(patched)

    replay_times = rotations(
        [("direct", lambda: replayed(direct)), ("patched", intercepted)],
        settings.request_rounds,
    )
    for client in (direct, patched):
        client.close()
    if session.blocked_errors or session.network_requests:
        msg = f"the replayed requests left the session: {session.network_requests}"
        raise AssertionError(msg)

    elsewhere = pooled_client(base_url=ELSEWHERE)
    bystander = CassetteSession(folder / "bystander.json", mode="record")

    def unclaimed() -> float:
        start = time.process_time()
        for _ in range(requests):
            elsewhere.get("/ping")
        return time.process_time() - start

    def unclaimed_while_recording() -> float:
        with bystander:
            return unclaimed()

    bystander_times = rotations(
        [("none", unclaimed), ("recording", unclaimed_while_recording)],
        settings.request_rounds,
    )
    elsewhere.close()
    if bystander.cassette.interactions:
        msg = "a recording session recorded a request to a host it does not claim"
        raise AssertionError(msg)
    return [
        per_request_row(
            "intercepted replay: plain httpx.Client vs replay transport",
            replay_times,
            "patched",
            "direct",
            requests,
        ),
        per_request_row(
            "unclaimed host: recording session active vs none",
            bystander_times,
            "recording",
            "none",
            requests,
        ),
    ]


def main(settings: Settings) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-sessions-") as tmp:
        folder = Path(tmp)
        for size in settings.sizes:
            rows += bench_recording(size, settings.rounds, folder)
        for size in settings.sizes:
            rows += bench_replay(size, settings.rounds, folder)
        rows += bench_interception(settings, folder)
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    args = parser.parse_args()
    print(
        f"streamcassette {streamcassette.__version__}, Python {sys.version.split()[0]}, "
        f"{'quick' if args.quick else 'full'} run"
    )
    print_table(main(QUICK if args.quick else FULL))
