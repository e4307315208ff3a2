"""The plugin on v3 thread sessions (``client.threads.stream()``): recorded, replayed
offline, compared live in LangGraph words, restricted by v3 channel names, snapshotted."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from plugin_helpers import NETWORK_GUARD, cassette_dir, record_inner_suite, write_ini

from streamcassette import load
from streamcassette.protocols import threads

pytest_plugins = ["pytester"]

QUESTION = "what's the weather in la"
CHANGED = "what's the weather in los angeles?"

# The code under test opens its own clients on a dead URL: recording must redirect them,
# replay must not care. The async test reads every event of the session; the sync one
# only waits for the output (the SDK's lifecycle watcher and state read).
INNER_THREADS = textwrap.dedent(
    """
    import asyncio

    import pytest
    from langgraph_sdk import get_client, get_sync_client

    QUESTION = "what's the weather in la"
    ANSWER = "The weather in Los Angeles is sunny and 72 degrees."


    def ends_run(event):
        params = event["params"]
        return (
            event["method"] == "lifecycle"
            and not params["namespace"]
            and params["data"]["event"] in ("completed", "failed")
        )


    def answer(output):
        return output["messages"][-1]["content"][0]["text"]


    async def ask(transport):
        client = get_client(url="http://127.0.0.1:9")
        events = []
        async with client.threads.stream(assistant_id="tool_agent", transport=transport) as thread:

            async def read():
                async for event in thread.events:
                    if event.get("type") == "event":  # not the WebSocket's subscribe reply
                        events.append(event)
                        if ends_run(event):
                            return

            reader = asyncio.create_task(read())
            await thread.run.start(input={"messages": [{"role": "user", "content": QUESTION}]})
            await asyncio.wait_for(reader, 30)
            output = await asyncio.wait_for(thread.output, 30)
        await client.aclose()
        return events, output


    @pytest.mark.anyio
    @pytest.mark.parametrize("transport", ["sse", "websocket"])
    @pytest.mark.stream_cassette
    async def test_agent(transport):
        events, output = await ask(transport)
        assert answer(output) == ANSWER
        assert any(event["method"] == "tools" for event in events)


    def test_sync_agent(stream_cassette):
        client = get_sync_client(url="http://127.0.0.1:9")
        with client.threads.stream(assistant_id="tool_agent") as thread:
            thread.run.start(input={"messages": [{"role": "user", "content": QUESTION}]})
            assert answer(thread.output) == ANSWER
    """
)
CASSETTES = ["test_agent[asyncio-sse].json", "test_agent[asyncio-websocket].json"]
CASSETTES += ["test_sync_agent.json"]

SNAPSHOT_TEST = """

@pytest.mark.anyio
@pytest.mark.parametrize("transport", ["sse", "websocket"])
@pytest.mark.stream_cassette
async def test_snapshot(transport, stream_snapshot):
    events, _output = await ask(transport)
    assert events == stream_snapshot
"""


def _write_suite(pytester: pytest.Pytester, *, snapshot: bool = False) -> Path:
    write_ini(pytester)
    return pytester.makepyfile(test_agent=INNER_THREADS + (SNAPSHOT_TEST if snapshot else ""))


@pytest.fixture(scope="module")
def recorded_threads(tmp_path_factory: pytest.TempPathFactory, langgraph_url: str) -> Path:
    """The inner v3 suite's cassettes, recorded once for this module."""
    root = tmp_path_factory.mktemp("recorded-threads")
    record_inner_suite(root, "test_agent", INNER_THREADS, langgraph_url)
    return cassette_dir(root, "test_agent")


def _copy(recorded_threads: Path, pytester: pytest.Pytester) -> Path:
    target = cassette_dir(pytester.path, "test_agent")
    shutil.copytree(recorded_threads, target)
    return target


def test_record_streams_records_thread_sessions_that_replay_offline(
    pytester: pytest.Pytester, langgraph_url: str
):
    """``--record-streams`` writes one cassette per v3 session (its commands, event streams
    over SSE or WebSocket, state read); plain ``pytest`` then replays them with every
    connection refused."""
    _write_suite(pytester)

    result = pytester.runpytest("--record-streams", "--langgraph-url", langgraph_url)

    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([f"*cassettes: 3 recorded (record; live server {langgraph_url})*"])
    folder = cassette_dir(pytester.path, "test_agent")
    assert sorted(path.name for path in folder.iterdir()) == sorted(CASSETTES)
    for name, stream_method in zip(CASSETTES, ["POST", "WEBSOCKET", "POST"], strict=True):
        cassette = load(folder / name)
        kinds = {
            (i.request.method, i.request.path.split("/", 3)[-1]) for i in cassette.interactions
        }
        assert {("POST", "commands"), (stream_method, "stream/events"), ("GET", "state")} <= kinds
        assert all(threads.thread_id_of(i.request.path) is not None for i in cassette.interactions)

    pytester.makeconftest(NETWORK_GUARD)
    result = pytester.runpytest()

    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*cassettes: 3 replayed (replay (offline))*"])


def test_diff_streams_reports_a_changed_question_in_langgraph_words(
    pytester: pytest.Pytester, recorded_threads: Path, langgraph_url: str
):
    """Asked another question live, the sessions that read the run's events fail with the
    changed message content named as state values drift (the v3 default channels); the
    cassettes are left as they were."""
    module = _write_suite(pytester)
    module.write_text(module.read_text().replace(QUESTION, CHANGED))
    folder = _copy(recorded_threads, pytester)
    before = {name: (folder / name).read_bytes() for name in CASSETTES}

    result = pytester.runpytest("--diff-streams", "--langgraph-url", langgraph_url)

    # The sync session reads only the lifecycle watcher: no content to drift there.
    result.assert_outcomes(failed=2, passed=1)
    result.stdout.fnmatch_lines(
        [
            "stream drift: the live server no longer streams what "
            "cassettes/test_agent/test_agent[[]asyncio-sse[]].json recorded",
            "*(modes: values, updates, tools, custom, lifecycle, input; policy: exact)",
            "stream 0: POST /threads/<uuid:1>/stream/events",
            f"*state values:*params.data.messages[[]0[]].content: {QUESTION!r} -> {CHANGED!r}*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*cassettes/test_agent/test_agent[[]asyncio-websocket[]].json recorded",
            "*stream 0: WEBSOCKET /threads/<uuid:1>/stream/events",
            f"*state values:*params.data.messages[[]0[]].content: {QUESTION!r} -> {CHANGED!r}*",
            "*cassettes: 1 compared, 2 drifted (live drift check (nothing written)*",
        ]
    )
    assert {name: (folder / name).read_bytes() for name in CASSETTES} == before


@pytest.mark.parametrize(
    ("modes", "drifted"),
    [(["messages", "lifecycle", "tools"], False), (["values"], True)],
    ids=["messages-lifecycle-tools", "values"],
)
def test_modes_setting_with_v3_channels_restricts_the_diff(
    pytester: pytest.Pytester,
    recorded_threads: Path,
    langgraph_url: str,
    modes: list[str],
    drifted: bool,
):
    """``[tool.streamcassette] modes`` names v3 channels: the agent's messages, lifecycle
    and tool runs are the same for the other question, its state values are not."""
    module = _write_suite(pytester)
    module.write_text(module.read_text().replace(QUESTION, CHANGED))
    pytester.makefile(".toml", pyproject=f"[tool.streamcassette]\nmodes = {modes!r}\n")
    _copy(recorded_threads, pytester)

    result = pytester.runpytest(
        "--diff-streams", "-k", "not test_sync_agent", "--langgraph-url", langgraph_url
    )

    if drifted:
        result.assert_outcomes(failed=2, deselected=1)
        result.stdout.fnmatch_lines(
            [
                "*(modes: values; policy: exact)",
                f"*state values:*content: {QUESTION!r} -> {CHANGED!r}*",
            ]
        )
    else:
        result.assert_outcomes(passed=2, deselected=1)
        result.stdout.fnmatch_lines(["*cassettes: 2 compared (live drift check*"])


def _snapshot(pytester: pytest.Pytester, transport: str) -> Path:
    name = f"test_snapshot[asyncio-{transport}].stream.txt"
    return pytester.path / "__snapshots__" / "test_agent" / name


def test_stream_snapshot_of_a_thread_session(pytester: pytest.Pytester, langgraph_url: str):
    """A recording run writes each session's events as a masked snapshot, named by channel
    (the same text over SSE and WebSocket); replay and a new live recording compare equal
    to it; a changed snapshot fails the replay with the line that differs."""
    _write_suite(pytester, snapshot=True)

    result = pytester.runpytest(
        "--record-streams", "-k", "snapshot", "--langgraph-url", langgraph_url
    )

    result.assert_outcomes(passed=2, deselected=3)
    text = _snapshot(pytester, "sse").read_text()
    assert text == _snapshot(pytester, "websocket").read_text()
    assert "\n\nevent: tools\n" in text
    assert '"seq": "<seq:1>"' in text
    assert '"timestamp": "<epoch_ms>"' in text
    assert f'"content": "{QUESTION}"' in text

    pytester.makeconftest(NETWORK_GUARD)
    pytester.runpytest("-k", "snapshot").assert_outcomes(passed=2, deselected=3)
    (pytester.path / "conftest.py").unlink()
    # Recorded afresh: new thread, run, message and tool-call ids, seq and stamps mask away.
    result = pytester.runpytest(
        "--record-streams", "-k", "snapshot", "--langgraph-url", langgraph_url
    )
    result.assert_outcomes(passed=2, deselected=3)

    _snapshot(pytester, "sse").write_text(text.replace("72 degrees", "75 degrees"))
    result = pytester.runpytest("-k", "snapshot")

    result.assert_outcomes(failed=1, passed=1, deselected=3)
    result.stdout.fnmatch_lines(["*[[]+ received[]] == [[]- snapshot[]]*", "*-*75 degrees*"])
