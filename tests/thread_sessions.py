"""v3 thread-stream sessions (``client.threads.stream()``) driven the same way live and in
replay, async or sync, over SSE or WebSocket; each returns what the program saw."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from langgraph_sdk import get_client, get_sync_client

from streamcassette.protocols import threads

TIMEOUT = 30.0


@dataclass(frozen=True)
class Program:
    """One v3 session to run: a graph, its input and, for interrupts, the answer (and the
    run's config, when it has one)."""

    name: str
    graph: str
    input: Any
    respond: Any = None
    config: dict[str, Any] | None = None


@dataclass
class Seen:
    """What a session saw: every event of ``thread.events`` (command replies left out), the
    ``thread.values``
    snapshots, the interrupts, and the output (or the error ``thread.output`` raised)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    interrupts: list[Any] = field(default_factory=list)
    output: Any = None
    error: str | None = None
    run_ids: list[str] = field(default_factory=list)


def _done(event: dict[str, Any]) -> bool:
    return threads.is_terminal(event)


async def run_async(url: str, program: Program, transport: str, thread_id: str | None) -> Seen:
    """The program through ``get_client().threads.stream``."""
    seen = Seen()
    client = get_client(url=url)
    try:
        async with client.threads.stream(
            thread_id, assistant_id=program.graph, transport=transport
        ) as thread:

            async def collect_events() -> None:
                async for event in thread.events:
                    if threads.event_of(event) is None:
                        continue  # over WebSocket: the subscribe command's reply
                    seen.events.append(dict(event))
                    if _done(event):
                        return

            async def collect_values() -> None:
                async for value in thread.values:
                    seen.values.append(value)

            events = asyncio.create_task(collect_events())
            values = asyncio.create_task(collect_values())
            started = await thread.run.start(input=program.input, config=program.config)
            seen.run_ids.append(started["run_id"])
            if program.respond is not None:
                deadline = time.monotonic() + TIMEOUT
                while not thread.interrupted:
                    assert time.monotonic() < deadline, "no interrupt arrived"
                    await asyncio.sleep(0.01)
                seen.interrupts = [dict(item) for item in thread.interrupts]
                await thread.run.respond(program.respond)
            await asyncio.wait_for(events, TIMEOUT)
            try:
                seen.output = await asyncio.wait_for(thread.output, TIMEOUT)
            except Exception as exc:  # the failing graph: thread.output raises its error
                seen.error = f"{type(exc).__name__}: {exc}"
            values.cancel()
    finally:
        await client.aclose()
    return seen


def run_sync(url: str, program: Program, transport: str, thread_id: str | None) -> Seen:
    """The program through ``get_sync_client().threads.stream``."""
    seen = Seen()
    client = get_sync_client(url=url)
    try:
        with client.threads.stream(
            thread_id, assistant_id=program.graph, transport=transport
        ) as thread:
            started = thread.run.start(input=program.input, config=program.config)
            seen.run_ids.append(started["run_id"])
            if program.respond is not None:
                deadline = time.monotonic() + TIMEOUT
                while not thread.interrupted:
                    assert time.monotonic() < deadline, "no interrupt arrived"
                    time.sleep(0.01)
                seen.interrupts = [dict(item) for item in thread.interrupts]
                thread.run.respond(program.respond)
            collected = threading.Event()

            def collect() -> None:
                for event in thread.events:
                    if threads.event_of(event) is None:
                        continue
                    seen.events.append(dict(event))
                    if _done(event):
                        break
                collected.set()

            reader = threading.Thread(target=collect, daemon=True)
            reader.start()
            assert collected.wait(TIMEOUT), "the run did not end"
            try:
                seen.output = thread.output
            except Exception as exc:
                seen.error = f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    return seen
