"""Real recordings for the mask, diff and learn tests: each scenario recorded twice.

The same requests are recorded into two cassettes (``a`` and ``b``) against the session's
``langgraph dev`` server, so the pairs differ only in what a server makes up per run: ids,
timestamps, tool-call ids. Everything is recorded once per test process, concurrently (each
cassette has its own session, so their interactions do not interleave), and shared by the
test modules through :func:`recorded_pairs`.

Also here: small helpers to change a recorded stream in memory, for the tests of the diff's
reports (a deliberate change is honest input for testing how a change is reported).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from streamcassette import Cassette, CassetteSession, RecordedFrame, load

ALL_MODES = [
    "values",
    "updates",
    "messages-tuple",
    "custom",
    "debug",
    "events",
    "tasks",
    "checkpoints",
]
QUESTION = {"messages": [{"role": "user", "content": "what's the weather in la"}]}

Scenario = Callable[[Any], Awaitable[None]]


async def _drain(parts: Any) -> None:
    async for _ in parts:
        pass


async def agent(client: Any) -> None:
    """A thread run of the tool-calling agent in every mode, resumable (SSE ids)."""
    thread = await client.threads.create()
    await _drain(
        client.runs.stream(
            thread["thread_id"],
            "agent",
            input=QUESTION,
            stream_mode=ALL_MODES,
            stream_resumable=True,
        )
    )


async def agent_messages(client: Any) -> None:
    """A stateless run of the agent in the legacy ``messages`` mode (partial/complete)."""
    await _drain(
        client.runs.stream(None, "agent", input=QUESTION, stream_mode=["messages", "updates"])
    )


async def subgraph(client: Any) -> None:
    """The subgraph graph with subgraph events, in the id-heavy modes."""
    thread = await client.threads.create()
    await _drain(
        client.runs.stream(
            thread["thread_id"],
            "subgraph",
            input={"foo": "foo"},
            stream_mode=["values", "updates", "debug", "tasks", "checkpoints", "events"],
            stream_subgraphs=True,
        )
    )


async def custom(client: Any) -> None:
    """Custom events from get_stream_writer."""
    await _drain(client.runs.stream(None, "custom", input={}, stream_mode=["custom", "updates"]))


async def interrupt(client: Any) -> None:
    """A run that interrupts, then its resumption: two streams on one thread."""
    thread = await client.threads.create()
    modes = ["updates", "values", "debug", "tasks"]
    await _drain(
        client.runs.stream(thread["thread_id"], "interrupting", input={}, stream_mode=modes)
    )
    await _drain(
        client.runs.stream(
            thread["thread_id"], "interrupting", command={"resume": "yes"}, stream_mode=modes
        )
    )


async def failing(client: Any) -> None:
    """A node that raises: the stream ends with an error event."""
    await _drain(client.runs.stream(None, "failing", input={}, stream_mode=["updates"]))


SCENARIOS: dict[str, Scenario] = {
    "agent": agent,
    "agent_messages": agent_messages,
    "subgraph": subgraph,
    "custom": custom,
    "interrupt": interrupt,
    "failing": failing,
}

_RECORDED: dict[str, dict[str, tuple[Path, Path]]] = {}


def recorded_pairs(url: str, folder: Path) -> dict[str, tuple[Path, Path]]:
    """Scenario name -> the two cassettes recording it, made once per server."""
    if url not in _RECORDED:
        _RECORDED[url] = asyncio.run(_record_all(url, folder))
    return _RECORDED[url]


async def _record_all(url: str, folder: Path) -> dict[str, tuple[Path, Path]]:
    async def record(name: str, copy: str) -> Path:
        path = folder / f"{name}-{copy}.json"
        session = CassetteSession(path, mode="record")
        client = session.client(url)
        try:
            await SCENARIOS[name](client)
        finally:
            await client.aclose()
        session.save()
        return path

    names = list(SCENARIOS)
    paths = await asyncio.gather(*(record(name, copy) for name in names for copy in "ab"))
    return {name: (paths[2 * i], paths[2 * i + 1]) for i, name in enumerate(names)}


def pair(pairs: dict[str, tuple[Path, Path]], name: str) -> tuple[Cassette, Cassette]:
    """A fresh copy of both cassettes of a scenario (tests change them in memory)."""
    first, second = pairs[name]
    return load(first), load(second)


# --- changing a recorded stream ----------------------------------------------------------


def frames(cassette: Cassette, stream: int = 0) -> list[RecordedFrame]:
    """The frames of the ``stream``-th SSE interaction (a list the tests may change)."""
    interaction = list(cassette.streams())[stream][1]
    assert interaction.response is not None
    assert interaction.response.stream is not None
    return interaction.response.stream.frames


def positions(cassette: Cassette, event: str, stream: int = 0) -> list[int]:
    """Where the frames of an event type are in a stream."""
    return [i for i, frame in enumerate(frames(cassette, stream)) if frame.parse().event == event]


def data(cassette: Cassette, position: int, stream: int = 0) -> Any:
    return json.loads(frames(cassette, stream)[position].parse().data or "null")


def rewrite(
    cassette: Cassette, position: int, change: Callable[[Any], Any], stream: int = 0
) -> None:
    """Replace a frame's JSON data by ``change(data)`` (the raw frame keeps its layout)."""
    frame_list = frames(cassette, stream)
    frame = frame_list[position]
    old = frame.parse().data
    assert old is not None
    new = json.dumps(change(json.loads(old)), separators=(",", ":"))
    frame_list[position] = RecordedFrame(frame.at, frame.raw.replace(old.encode(), new.encode()))


def add_provider_metadata(cassette: Cassette, seed: int) -> None:
    """Give every AI message in the updates the per-call metadata a real provider sends."""
    rng = random.Random(seed)
    for position in positions(cassette, "updates"):

        def change(update: Any) -> Any:
            for node in update.values():
                for message in node.get("messages", []):
                    if message["type"] == "ai":
                        message["response_metadata"] = {
                            "id": f"chatcmpl-{rng.getrandbits(64):x}",
                            "created": rng.randrange(1_700_000_000, 1_800_000_000),
                            "model_name": "gpt-4o",
                        }
            return update

        rewrite(cassette, position, change)
