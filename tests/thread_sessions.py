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


def opens_values_stream(request: bytes) -> bool:
    """Whether a connection's request (so far) opens the SDK's shared projection stream, the
    one ``thread.values`` reads (over SSE): the one it opens with a ``since`` cursor."""
    return b"/stream/events" in request and b'"since":' in request


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
                    assert time.monotonic() < deadline, _no_interrupt(seen)
                    await asyncio.sleep(0.01)
                seen.interrupts = [dict(item) for item in thread.interrupts]
                await thread.run.respond(program.respond)
            await asyncio.wait_for(events, TIMEOUT)
            try:
                seen.output = await asyncio.wait_for(thread.output, TIMEOUT)
            except Exception as exc:  # the failing graph: thread.output raises its error
                seen.error = f"{type(exc).__name__}: {exc}"
            # thread.output resolves from the lifecycle watcher's stream and a state read; the
            # values subscription ends on its own stream's terminal lifecycle event, which may
            # come later (a reconnect, a busy machine). Cancelling it at once would make the
            # snapshots seen a race.
            try:
                await asyncio.wait_for(values, TIMEOUT)
            except asyncio.TimeoutError:
                seen.error = seen.error or "thread.values did not end with the run"
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
                    assert time.monotonic() < deadline, _no_interrupt(seen)
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


@dataclass
class Projected:
    """What the typed projections gave: one entry per ``thread.messages`` stream (its node,
    id, text and tool calls once finished) and per ``thread.tool_calls`` handle (its name,
    id, input and output), and the run's output."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    output: Any = None


def _message(stream: Any, message: Any) -> dict[str, Any]:
    return {
        "node": stream.node,
        "id": stream.message_id,
        "text": message.text,
        "tool_calls": message.tool_calls,
    }


def _tool_call(handle: Any, output: Any) -> dict[str, Any]:
    return {"name": handle.name, "id": handle.tool_call_id, "input": handle.input, "output": output}


async def project_async(url: str, program: Program, transport: str) -> Projected:
    """The program through ``get_client().threads.stream``, read through ``thread.messages``
    and ``thread.tool_calls`` (subscribed before ``run.start``, in that order). Each
    iteration must end at the run's end, within ``TIMEOUT``: the SDK feeds a message stream
    from its projection's iterator, so the iterator is kept going while the streams finish."""
    seen = Projected()
    client = get_client(url=url)
    try:
        async with client.threads.stream(assistant_id=program.graph, transport=transport) as thread:

            async def messages() -> None:
                streams = [stream async for stream in thread.messages]
                for stream in streams:
                    seen.messages.append(_message(stream, await stream))

            async def tool_calls() -> None:
                handles = [handle async for handle in thread.tool_calls]
                for handle in handles:
                    seen.tool_calls.append(_tool_call(handle, await handle.output))

            reading = [asyncio.create_task(messages()), asyncio.create_task(tool_calls())]
            await thread.run.start(input=program.input)
            seen.output = await asyncio.wait_for(thread.output, TIMEOUT)
            await asyncio.wait_for(asyncio.gather(*reading), TIMEOUT)
    finally:
        await client.aclose()
    return seen


def project_sync(url: str, program: Program, transport: str) -> Projected:
    """:func:`project_async` through ``get_sync_client().threads.stream``: each projection
    read in its own thread, which must end within ``TIMEOUT``."""
    seen = Projected()
    client = get_sync_client(url=url)
    try:
        with client.threads.stream(assistant_id=program.graph, transport=transport) as thread:

            def messages() -> None:
                for stream in thread.messages:  # yielded once finished
                    seen.messages.append(_message(stream, stream.output))

            def tool_calls() -> None:
                for handle in thread.tool_calls:  # yielded once finished
                    seen.tool_calls.append(_tool_call(handle, handle.output))

            readers = [
                threading.Thread(target=read, daemon=True) for read in (messages, tool_calls)
            ]
            for reader in readers:
                reader.start()
            thread.run.start(input=program.input)
            seen.output = thread.output
            for reader in readers:
                reader.join(TIMEOUT)
                assert not reader.is_alive(), "a projection did not end with the run"
    finally:
        client.close()
    return seen


def _no_interrupt(seen: Seen) -> str:
    """Why a test gave up waiting for ``thread.interrupted``: the events its own
    subscription got tell a lost interrupt (``input.requested`` there, not in the SDK's
    lifecycle watcher) from one the server never sent."""
    methods = [event.get("method") for event in seen.events]
    return f"no interrupt arrived in {TIMEOUT:g} s; events seen: {methods}"
