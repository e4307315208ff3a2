"""Core benchmark: replay throughput, time to first event while recording, realtime replay
gaps and cassette size, each as a ratio against a baseline measured in the same run.

Run from the repository root::

    .venv/bin/python benchmarks/bench_core.py            # 10k and 100k frames
    .venv/bin/python benchmarks/bench_core.py --quick    # small sizes, for a smoke test

See benchmarks/README.md for what each figure means. Nothing here is cached between
runs: every cassette is recorded, saved and loaded afresh.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

import streamcassette
from streamcassette import (
    ATTACH_FROM,
    AsyncRecordingTransport,
    Cassette,
    CassetteSession,
    RecordedStream,
    dumps,
    frames_file_path,
    load,
    replay_client,
    save,
)

REPO = Path(__file__).resolve().parent.parent
BUNDLED_CASSETTES = REPO / "cassettes"

# Targets from the issue.
REPLAY_TARGET = 0.9  # replay events/s >= 0.9 x the in-memory floor's
TTFE_TARGET = 1.05  # time to first event while recording <= 1.05 x without recording
REALTIME_TARGET = 0.05  # median relative gap error at speed=1.0 <= 5 %
SIZE_TARGET = 1.15  # cassette bytes <= 1.15 x the raw SSE bytes


@dataclass(frozen=True)
class Settings:
    replay_sizes: tuple[int, ...]
    replay_repeats: int
    ttfe_repeats: int
    gaps: tuple[float, ...]  # the pausing server's gaps between frames, in seconds
    realtime_frames: int


FULL = Settings(
    replay_sizes=(10_000, 100_000),
    replay_repeats=7,
    ttfe_repeats=101,
    gaps=(0.2, 0.05, 0.1),
    realtime_frames=16,
)
QUICK = Settings(
    replay_sizes=(500, 2_000),
    replay_repeats=2,
    ttfe_repeats=3,
    gaps=(0.02, 0.04),
    realtime_frames=5,
)


# --- realistic LangGraph frames ------------------------------------------------------
#
# Shaped like what langgraph-api 0.16.7 sends for a thread run streamed with
# stream_mode=["messages-tuple", "updates"] and stream_resumable=True: CRLF line endings,
# compact JSON (the server serialises with orjson), an ``id: <epoch_ms>-<seq>`` line per
# frame, and for each token an ``[AIMessageChunk, metadata]`` pair whose metadata repeats
# the run's whole context (which is why a one-word token frame is about 1 KB).

THREAD_ID = "01a2002f-eb74-7361-9c51-51bfea008a6f"
RUN_ID = "01a2002f-eb78-7268-ab2b-17904064ccae"
ASSISTANT_ID = "fe096781-5601-53d2-b2f6-0d3403f7e9ca"
BASE_URL = "http://bench.invalid"  # never resolved: every request hits an in-memory transport
STREAM_PATH = f"/threads/{THREAD_ID}/runs/{RUN_ID}/stream"
RUN_PATH = f"/threads/{THREAD_ID}/runs/{RUN_ID}"
SSE_HEADERS = [
    ("server", "uvicorn"),
    ("location", STREAM_PATH),
    ("content-location", RUN_PATH),
    ("cache-control", "no-store"),
    ("x-accel-buffering", "no"),
    ("content-type", "text/event-stream; charset=utf-8"),
    ("vary", "Origin"),
    ("transfer-encoding", "chunked"),
]
RUN_BODY = {
    "run_id": RUN_ID,
    "thread_id": THREAD_ID,
    "assistant_id": ASSISTANT_ID,
    "status": "success",
    "metadata": {},
    "multitask_strategy": "enqueue",
}
STREAM_KWARGS: dict[str, Any] = {
    "input": {"messages": [{"role": "user", "content": "what's the weather in la"}]},
    "stream_mode": ["messages-tuple", "updates"],
    "stream_resumable": True,
}
ANSWER = (
    "The weather in Los Angeles is sunny and 72 degrees with a light breeze from the west "
    "today. Expect clear skies through the evening, a low of 58 °F overnight and patchy "
    "morning fog near the coast — a café-au-lait sunrise 🌤 before it burns off. Tomorrow "
    "looks much the same, although the marine layer may linger until about 11 a.m."
)
WORDS = ANSWER.split(" ")


def run_metadata(
    step: int,
    node: str,
    checkpoint: str,
    *,
    model: bool,
    ids: tuple[str, str, str] = (THREAD_ID, RUN_ID, ASSISTANT_ID),
) -> dict[str, Any]:
    """The metadata the server puts beside every message of a run (``ids``: thread, run and
    assistant); ``checkpoint`` is the node's task id."""
    thread_id, run_id, assistant_id = ids
    meta: dict[str, Any] = {
        "created_by": "system",
        "graph_id": "agent",
        "assistant_id": assistant_id,
        "run_attempt": 1,
        "langgraph_version": "1.2.22",
        "langgraph_api_version": "0.16.7",
        "langgraph_plan": "enterprise",
        "langgraph_host": "self-hosted",
        "langgraph_api_url": "http://127.0.0.1:51357",
        "run_id": run_id,
        "thread_id": thread_id,
        "ls_integration": "langchain_chat_model" if model else "langgraph",
        "langgraph_step": step,
        "langgraph_node": node,
        "langgraph_triggers": [f"branch:to:{node}"],
        "langgraph_path": ["__pregel_pull", node],
        "langgraph_checkpoint_ns": f"{node}:{checkpoint}",
    }
    if model:
        meta |= {
            "checkpoint_ns": f"{node}:{checkpoint}",
            "ls_provider": "openai",
            "ls_model_name": "gpt-4o-mini",
            "ls_model_type": "chat",
            "ls_temperature": 0.0,
            "lc_versions": {"langchain-core": "1.7.2"},
        }
    return meta


def _chunk(message_id: str, content: str, **fields: Any) -> dict[str, Any]:
    return {
        "content": content,
        "additional_kwargs": {},
        "response_metadata": fields.pop("response_metadata", {}),
        "type": "AIMessageChunk",
        "name": None,
        "id": message_id,
        "tool_calls": fields.pop("tool_calls", []),
        "invalid_tool_calls": fields.pop("invalid_tool_calls", []),
        "usage_metadata": fields.pop("usage_metadata", None),
        "tool_call_chunks": fields.pop("tool_call_chunks", []),
        "chunk_position": fields.pop("chunk_position", None),
    }


def _ai_message(message_id: str, content: str, tool_calls: list[Any]) -> dict[str, Any]:
    return {
        "content": content,
        "additional_kwargs": {},
        "response_metadata": {"finish_reason": "tool_calls" if tool_calls else "stop"},
        "type": "ai",
        "name": None,
        "id": message_id,
        "tool_calls": tool_calls,
        "invalid_tool_calls": [],
        "usage_metadata": None,
    }


def _payloads(rng: random.Random) -> Iterator[tuple[str, Any]]:
    """(event, data) pairs of an endless agent conversation: tool call, result, answer."""
    yield "metadata", {"run_id": RUN_ID, "attempt": 1}
    step = 0

    def uid() -> str:
        return f"{rng.getrandbits(128):032x}"

    while True:
        step += 1
        checkpoint, message_id = uid(), f"lc_run--{uid()}"
        call_id = f"call_{uid()[:24]}"
        args = orjson.dumps({"query": "weather in los angeles"}).decode()
        meta = run_metadata(step, "agent", checkpoint, model=True)
        call = {"name": "search", "args": args[:12], "id": call_id, "index": 0}
        yield (
            "messages",
            [
                _chunk(message_id, "", tool_call_chunks=[{**call, "type": "tool_call_chunk"}]),
                meta,
            ],
        )
        rest = {"name": None, "args": args[12:], "id": None, "index": 0}
        yield (
            "messages",
            [
                _chunk(
                    message_id,
                    "",
                    tool_call_chunks=[{**rest, "type": "tool_call_chunk"}],
                    chunk_position="last",
                ),
                meta,
            ],
        )
        tool_calls = [
            {"name": "search", "args": orjson.loads(args), "id": call_id, "type": "tool_call"}
        ]
        yield "updates", {"agent": {"messages": [_ai_message(message_id, "", tool_calls)]}}

        step += 1
        tool_message: dict[str, Any] = {
            "content": "Los Angeles: sunny, 72 degrees Fahrenheit, light breeze from the west.",
            "additional_kwargs": {},
            "response_metadata": {},
            "type": "tool",
            "name": "search",
            "id": uid(),
            "tool_call_id": call_id,
            "artifact": None,
            "status": "success",
        }
        yield "messages", [tool_message, run_metadata(step, "action", uid(), model=False)]
        yield "updates", {"action": {"messages": [tool_message]}}

        step += 1
        checkpoint, message_id = uid(), f"lc_run--{uid()}"
        meta = run_metadata(step, "agent", checkpoint, model=True)
        tokens = [rng.choice(WORDS) + " " for _ in range(rng.randint(20, 80))]
        for token in tokens:
            yield "messages", [_chunk(message_id, token), meta]
        usage = {
            "input_tokens": 212,
            "output_tokens": len(tokens),
            "total_tokens": 212 + len(tokens),
        }
        finish = {"finish_reason": "stop", "model_name": "gpt-4o-mini", "model_provider": "openai"}
        yield (
            "messages",
            [
                _chunk(
                    message_id,
                    "",
                    response_metadata=finish,
                    usage_metadata=usage,
                    chunk_position="last",
                ),
                meta,
            ],
        )
        yield "updates", {"agent": {"messages": [_ai_message(message_id, "".join(tokens), [])]}}


def langgraph_frames(count: int, seed: int = 0) -> list[bytes]:
    """``count`` raw SSE frames as the LangGraph API server writes them."""
    rng = random.Random(seed)
    frames: list[bytes] = []
    clock, seq = 1_795_299_470_845, 0
    for event, data in _payloads(rng):
        if len(frames) == count:
            break
        if rng.random() < 0.6:
            clock, seq = clock + rng.randint(1, 3), 0
        else:
            seq += 1
        frames.append(
            b"event: %s\r\ndata: %s\r\nid: %d-%d\r\n\r\n"
            % (event.encode(), orjson.dumps(data), clock, seq)
        )
    return frames


# --- in-memory server ------------------------------------------------------------------


class _Chunks(httpx.AsyncByteStream):
    """The given chunks, one by one, with no delay."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk


def memory_server(frames: list[bytes]) -> httpx.MockTransport:
    """Answers the run stream with ``frames`` (one chunk each) and the run status check."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == f"/threads/{THREAD_ID}/runs/stream":
            return httpx.Response(200, headers=SSE_HEADERS, stream=_Chunks(frames))
        if request.method == "GET" and request.url.path == RUN_PATH:
            return httpx.Response(200, json=RUN_BODY)
        return httpx.Response(404, json={"detail": "Not Found"})

    return httpx.MockTransport(handle)


def use_transport(client: LangGraphClient, transport: httpx.AsyncBaseTransport) -> None:
    """Route an SDK client's requests to ``transport``, mounts included."""
    http = client.http.client
    http._transport = transport
    http._mounts = {pattern: transport for pattern in http._mounts}


def memory_client(frames: list[bytes]) -> LangGraphClient:
    """An SDK client served by :func:`memory_server`: the floor."""
    client = get_client(url=BASE_URL, api_key=None)
    use_transport(client, memory_server(frames))
    return client


async def stream_run(client: LangGraphClient) -> int:
    """Consume one run stream through the SDK; the number of events it yielded."""
    count = 0
    async for _part in client.runs.stream(THREAD_ID, "agent", **STREAM_KWARGS):
        count += 1
    return count


# --- measurements ----------------------------------------------------------------------


@dataclass
class Row:
    """One line of the table: a figure, its baseline from the same run, and the verdict."""

    figure: str
    measured: str
    baseline: str
    ratio: float | None
    target: str
    passed: bool | None

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("PASS" if self.passed else "MISS")


def first_stream(cassette: Cassette) -> RecordedStream:
    response = next(interaction for _, interaction in cassette.streams()).response
    assert response is not None
    assert response.stream is not None
    return response.stream


async def record_cassette(frames: list[bytes], path: Path) -> None:
    """Record ``frames`` through the SDK with the real recorder, save it to ``path``."""
    cassette = Cassette(provenance={"benchmark": "bench_core"})
    client = get_client(url=BASE_URL, api_key=None)
    use_transport(client, AsyncRecordingTransport(cassette, memory_server(frames)))
    count = await stream_run(client)
    await client.aclose()
    stream = first_stream(cassette)
    if count != len(frames) or stream.raw != b"".join(frames):
        msg = f"recording is not byte-exact: {count} events for {len(frames)} frames"
        raise AssertionError(msg)
    save(cassette, path)


async def timed_stream(make_client: Callable[[], LangGraphClient], expected: int) -> float:
    """Seconds from ``make_client()`` to the stream's last event; the client is closed after."""
    gc.collect()
    start = time.perf_counter()
    client = make_client()
    count = await stream_run(client)
    elapsed = time.perf_counter() - start
    await client.aclose()
    if count != expected:
        msg = f"the SDK yielded {count} events, expected {expected}"
        raise AssertionError(msg)
    return elapsed


def cassette_bytes(path: Path) -> int:
    """The cassette's size on disk: the file and, if its frames are attached, their file."""
    sidecar = frames_file_path(path)
    return path.stat().st_size + (sidecar.stat().st_size if sidecar.exists() else 0)


async def bench_replay(size: int, repeats: int, folder: Path) -> tuple[list[Row], list[Row]]:
    """Replay rows (attached, as saved by default; embedded for comparison), size rows."""
    frames = langgraph_frames(size)
    path = folder / f"replay-{size}.json"
    await record_cassette(frames, path)  # save() as users get it: attached from 1 MiB on
    raw_bytes = sum(map(len, frames))
    if frames_file_path(path).exists() != (raw_bytes >= ATTACH_FROM):
        msg = f"save() attached the frames of {raw_bytes:,} bytes against ATTACH_FROM"
        raise AssertionError(msg)
    embedded = save(load(path), folder / f"replay-{size}-embedded.json", attach=False)

    # The floor's clients are built before any timing: the floor is the SDK reading the
    # bytes and nothing else. Replay's timing includes load() and building its client.
    floors = iter([memory_client(frames) for _ in range(repeats)])
    times: dict[str, list[float]] = {"floor": [], "attached": [], "embedded": []}
    makers: list[tuple[str, Callable[[], LangGraphClient]]] = [
        ("floor", lambda: next(floors)),
        ("attached", lambda: replay_client(path)),
        ("embedded", lambda: replay_client(embedded)),
    ]
    for repeat in range(repeats):
        # Interleaved, rotating which goes first, so drift hits all alike.
        shift = repeat % len(makers)
        for name, make_client in makers[shift:] + makers[:shift]:
            times[name].append(await timed_stream(make_client, size))
    floor_rate = size / min(times["floor"])
    attached_rate = size / min(times["attached"])
    embedded_rate = size / min(times["embedded"])
    ratio = attached_rate / floor_rate
    replay_rows = [
        Row(
            f"replay {size:,} frames, load included (events/s)",
            f"{attached_rate:,.0f}",
            f"{floor_rate:,.0f}",
            ratio,
            f">= {REPLAY_TARGET}x",
            ratio >= REPLAY_TARGET,
        ),
        Row(
            "  same, frames embedded in the JSON (attach=False)",
            f"{embedded_rate:,.0f}",
            f"{floor_rate:,.0f}",
            embedded_rate / floor_rate,
            "(comparison)",
            None,
        ),
    ]
    size_rows: list[Row] = []
    for figure, saved in (
        (f"cassette size, {size:,} frames (bytes)", path),
        ("  same, frames embedded in the JSON", embedded),
    ):
        file_bytes = cassette_bytes(saved)
        size_ratio = file_bytes / raw_bytes
        size_rows.append(
            Row(
                figure,
                f"{file_bytes:,}",
                f"{raw_bytes:,} SSE",
                size_ratio,
                f"<= {SIZE_TARGET}x",
                size_ratio <= SIZE_TARGET,
            )
        )
    for saved in (path, frames_file_path(path), embedded):
        saved.unlink(missing_ok=True)
    return replay_rows, size_rows


# --- a loopback server that pauses between frames --------------------------------------


class PausingServer:
    """HTTP/1.1 on 127.0.0.1 (a free port), in a child process so that it never competes
    with the client for the GIL: the run stream sends its first frame at once, then pauses
    ``gaps[i % len(gaps)]`` before each next one, chunked-encoded as uvicorn does. It also
    answers the SDK's run status check and ``/info``."""

    def __init__(self, frames: int, seed: int, gaps: tuple[float, ...]) -> None:
        self.command = [
            sys.executable,
            __file__,
            "--serve",
            f"{frames},{seed},{','.join(map(str, gaps))}",
        ]
        self.url = ""
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> PausingServer:
        self._process = subprocess.Popen(self.command, stdout=subprocess.PIPE, text=True)
        assert self._process.stdout is not None
        self.url = self._process.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            self.__exit__()
            msg = f"the pausing server did not start: {self.command!r} printed {self.url!r}"
            raise RuntimeError(msg)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._process is not None
        self._process.terminate()
        self._process.wait(10)
        assert self._process.stdout is not None
        self._process.stdout.close()


def serve_pausing(spec: str) -> None:
    """The child process of :class:`PausingServer`; ``spec`` is ``frames,seed,gap,...``."""
    count, seed, *gaps = spec.split(",")
    frames = langgraph_frames(int(count), seed=int(seed))
    pauses = [float(gap) for gap in gaps]

    async def stream(writer: asyncio.StreamWriter) -> None:
        head = "".join(f"{name}: {value}\r\n" for name, value in SSE_HEADERS)
        writer.write(f"HTTP/1.1 200 OK\r\n{head}\r\n".encode())
        for index, frame in enumerate(frames):
            if index:
                await asyncio.sleep(pauses[(index - 1) % len(pauses)])
            writer.write(b"%x\r\n%s\r\n" % (len(frame), frame))
            await writer.drain()
        writer.write(b"0\r\n\r\n")

    def send_json(writer: asyncio.StreamWriter, status: int, value: Any) -> None:
        body = orjson.dumps(value)
        writer.write(
            b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (status, len(body), body)
        )

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while request_line := await reader.readline():  # keep-alive: one request a turn
                headers: dict[str, str] = {}
                while (line := await reader.readline()).strip():
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                await reader.readexactly(int(headers.get("content-length", "0")))
                method, target, _version = request_line.decode("latin-1").split(" ", 2)
                path = target.partition("?")[0]
                if method == "POST" and path == f"/threads/{THREAD_ID}/runs/stream":
                    await stream(writer)
                elif method == "GET" and path in (RUN_PATH, "/info"):
                    send_json(writer, 200, RUN_BODY if path == RUN_PATH else {"version": "0"})
                else:
                    send_json(writer, 404, {"detail": "Not Found"})
                await writer.drain()
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(connection, "127.0.0.1", 0)
        print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


async def time_to_first_event(client: LangGraphClient) -> float:
    """Seconds from the SDK call to its first event; the client then stops reading."""
    start = time.perf_counter()
    parts = client.runs.stream(THREAD_ID, "agent", **STREAM_KWARGS)
    await parts.__anext__()
    elapsed = time.perf_counter() - start
    await parts.aclose()  # type: ignore[attr-defined]
    await client.aclose()
    return elapsed


async def bench_ttfe(settings: Settings, folder: Path) -> Row:
    plain: list[float] = []
    recording: list[float] = []
    with PausingServer(settings.realtime_frames, 1, settings.gaps) as server:
        for repeat in range(settings.ttfe_repeats):
            session = CassetteSession(folder / f"ttfe-{repeat}.json", mode="record")
            makers: list[tuple[Callable[[], LangGraphClient], list[float]]] = [
                (lambda: get_client(url=server.url, api_key=None), plain),
                (lambda: session.client(server.url), recording),  # noqa: B023 (used at once)
            ]
            # Both clients are built outside the timing, in the order they then run, which
            # alternates: whichever client is built second starts its first request ~5 %
            # slower (measured with two plain clients), so neither may always be second.
            order = makers if repeat % 2 == 0 else makers[::-1]
            clients = [(make(), times) for make, times in order]
            for client, times in clients:
                gc.collect()
                times.append(await time_to_first_event(client))
            if not first_stream(session.cassette).frames:
                msg = "the recording client did not record the first frame"
                raise AssertionError(msg)
    plain_median, recording_median = statistics.median(plain), statistics.median(recording)
    ratio = recording_median / plain_median
    return Row(
        "time to first event while recording (ms, median)",
        f"{recording_median * 1e3:.2f}",
        f"{plain_median * 1e3:.2f}",
        ratio,
        f"<= {TTFE_TARGET}x",
        ratio <= TTFE_TARGET,
    )


async def bench_realtime(settings: Settings, folder: Path) -> Row:
    frames = settings.realtime_frames
    path = folder / "realtime.json"
    with PausingServer(frames, 2, settings.gaps) as server:
        session = CassetteSession(path, mode="record")
        count = await stream_run(session.client(server.url))
        session.save()
    if count != frames:
        msg = f"recorded {count} events from a {frames}-frame stream"
        raise AssertionError(msg)
    recorded = [b.at - a.at for a, b in itertools.pairwise(first_stream(load(path)).frames)]

    arrivals: list[float] = []
    client = CassetteSession(path, speed=1.0).client()
    async for _part in client.runs.stream(THREAD_ID, "agent", **STREAM_KWARGS):
        arrivals.append(time.perf_counter())
    await client.aclose()
    replayed = [b - a for a, b in itertools.pairwise(arrivals)]
    if len(replayed) != len(recorded):
        msg = f"replay yielded {len(arrivals)} events, the recording has {frames} frames"
        raise AssertionError(msg)
    ratios = [got / want for got, want in zip(replayed, recorded, strict=True)]
    median_error = statistics.median(abs(ratio - 1) for ratio in ratios)
    return Row(
        "realtime replay (speed=1.0): gap between events",
        f"{statistics.median(replayed) * 1e3:.1f} ms, median |error| {median_error:.2%}",
        f"{statistics.median(recorded) * 1e3:.1f} ms recorded",
        statistics.median(ratios),
        f"|error| <= {REALTIME_TARGET:.0%}",
        median_error <= REALTIME_TARGET,
    )


# --- cassette size ---------------------------------------------------------------------


def stream_share(cassette: Cassette) -> tuple[int, int]:
    """(raw SSE bytes, bytes the frames take in the file) over the cassette's streams;
    the cassette's streams are left empty."""
    streams = [
        interaction.response.stream
        for _, interaction in cassette.streams()
        if interaction.response is not None and interaction.response.stream is not None
    ]
    raw_bytes = sum(len(stream.raw) for stream in streams)
    with_frames = len(dumps(cassette).encode())
    for stream in streams:
        stream.frames, stream.tail = [], b""
    return raw_bytes, with_frames - len(dumps(cassette).encode())


def bundled_size_rows() -> list[Row]:
    """The whole file, and the frames' part of it, against the SSE bytes they hold."""
    rows: list[Row] = []
    for path in sorted(BUNDLED_CASSETTES.glob("*.json")):
        raw_bytes, frame_bytes = stream_share(load(path))
        if not raw_bytes:
            continue
        name = path.relative_to(REPO)
        for figure, size in (
            (f"cassette size, {name}, whole file (bytes)", path.stat().st_size),
            (f"cassette size, {name}, frames only (bytes)", frame_bytes),
        ):
            ratio = size / raw_bytes
            rows.append(
                Row(
                    figure,
                    f"{size:,}",
                    f"{raw_bytes:,} SSE",
                    ratio,
                    f"<= {SIZE_TARGET}x",
                    ratio <= SIZE_TARGET,
                )
            )
    return rows


# --- report ----------------------------------------------------------------------------


def print_table(rows: list[Row]) -> None:
    header = ("figure", "measured", "baseline", "ratio", "target", "")
    cells = [
        (
            r.figure,
            r.measured,
            r.baseline,
            "" if r.ratio is None else f"{r.ratio:.3f}x",
            r.target,
            r.verdict,
        )
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in [header, *cells]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *cells]:
        print(
            "  ".join(
                str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)
            ).rstrip()
        )


async def main(settings: Settings) -> list[Row]:
    rows: list[Row] = []
    size_rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-core-") as tmp:
        folder = Path(tmp)
        for size in settings.replay_sizes:
            replay_rows, size_ratio_rows = await bench_replay(size, settings.replay_repeats, folder)
            rows += replay_rows
            size_rows += size_ratio_rows
        rows.append(await bench_ttfe(settings, folder))
        rows.append(await bench_realtime(settings, folder))
    return [*rows, *size_rows, *bundled_size_rows()]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.partition("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--serve", metavar="FRAMES,SEED,GAP,...", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_pausing(args.serve)
        sys.exit(0)
    settings = QUICK if args.quick else FULL
    print(
        f"streamcassette {streamcassette.__version__}, Python {sys.version.split()[0]}, "
        f"{'quick' if args.quick else 'full'} run"
    )
    print_table(asyncio.run(main(settings)))
