"""The ``@langchain/react`` chat page (the v3 thread protocol) recorded live through
``streamcassette proxy`` from ``langgraph dev``, then replayed from ``streamcassette serve``
in a fresh profile, with a listener on the proxy's old port that fails the test on any
connection."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser import Browser, PageServer
from chat import (
    assert_agent_session,
    assert_clean,
)
from test_served_pages import (  # the classic hook's demos and harness
    Recorded,
    approve_after_reload,
    ask_and_reload_mid_answer,
    ask_the_agent,
    play,
    record,
    served,
    served_approval,
    served_to_two_visitors,
)

from streamcassette import load


@pytest.fixture(scope="module")
def v3_agent_demo(browser, pages, langgraph_url, tmp_path_factory) -> Recorded:
    folder = tmp_path_factory.mktemp("v3-agent-demo")
    return record(browser, pages, langgraph_url, folder, "agent_slow", ask_the_agent, "v3")


@pytest.fixture(scope="module")
def v3_rejoin_demo(browser, pages, langgraph_url, tmp_path_factory) -> Recorded:
    folder = tmp_path_factory.mktemp("v3-rejoin-demo")
    return record(
        browser, pages, langgraph_url, folder, "agent_slow", ask_and_reload_mid_answer, "v3"
    )


@pytest.fixture(scope="module")
def v3_approval_demo(browser, pages, langgraph_url, tmp_path_factory) -> Recorded:
    folder = tmp_path_factory.mktemp("v3-approval-demo")
    return record(browser, pages, langgraph_url, folder, "interrupting", approve_after_reload, "v3")


def recorded_human_ids(folder: Path) -> set[str]:
    """The message ids the page minted while recording (in the recorded ``run.start``s)."""
    ids = set()
    for path in folder.glob("*.json"):
        for interaction in load(path).interactions:
            body = interaction.request.body
            command = (body.json_or_none() if body is not None else None) or {}
            if interaction.request.path.endswith("/commands") and command.get("method"):
                params = command.get("params") or {}
                for message in (params.get("input") or {}).get("messages", []):
                    ids.add(message["id"])
    return ids


def protocol_requests(events: dict[str, list[str]]) -> list[str]:
    """The page's v3 requests (commands, event streams, state), without preflights."""
    return [
        request.split(" ")[0] + " " + request.rsplit("/", 1)[-1]
        for request in events["requests"]
        if "/threads/" in request and not request.startswith("OPTIONS ")
    ]


def test_v3_served_agent_demo_streams_tokens(
    browser: Browser, pages: PageServer, v3_agent_demo: Recorded
):
    """Replayed, the v3 page shows the same messages, tool call and answer, the answer
    growing over time at speed 1, with its own thread and message ids, without errors; so
    does a second visitor, on a thread of its own."""
    replay = served_to_two_visitors(browser, pages, v3_agent_demo, "v3")
    # The page minted its thread (uuidv7) and message ids; the served events carry them.
    assert replay.snapshot["thread"] != v3_agent_demo.live.snapshot["thread"]
    assert replay.snapshot["messages"][0]["id"] not in recorded_human_ids(v3_agent_demo.folder)
    assert protocol_requests(replay.events) == protocol_requests(v3_agent_demo.live.events)


def test_v3_served_page_rejoins_after_a_reload(
    browser: Browser, pages: PageServer, v3_rejoin_demo: Recorded
):
    """Reloaded mid-answer, the replayed v3 page reads its thread's state and history and
    subscribes again (buffered events replayed to the late subscriptions), and ends with
    the whole session, as it did live."""
    assert_agent_session(v3_rejoin_demo.live.snapshot)
    # The proxy kept the whole session in one cassette, with the server it recorded, though
    # requests of the run completed together while its /info was read.
    (cassette,) = [load(path) for path in v3_rejoin_demo.folder.glob("*.json")]
    assert "version" in cassette.provenance["server"]
    assert [i.request.method for i in cassette.interactions].count("GET") == 1
    with served(v3_rejoin_demo) as url:
        replay = play(
            browser, pages.page("v3", url, "agent_slow"), ask_and_reload_mid_answer, "v3-rejoin"
        )
    assert_agent_session(replay.snapshot)
    after_reload = protocol_requests(replay.events)[3:]
    assert after_reload == ["GET state", "POST history", "POST events", "POST events"]
    assert protocol_requests(replay.events) == protocol_requests(v3_rejoin_demo.live.events)
    assert_clean(replay.events)


def test_v3_served_page_rejoins_where_the_recording_never_reloaded(
    browser: Browser, pages: PageServer, v3_agent_demo: Recorded
):
    """A reload mid-answer that the recording never had still rejoins: the thread's state
    and history are synthesized from the events served so far."""
    with served(v3_agent_demo) as url:
        replay = play(
            browser, pages.page("v3", url, "agent_slow"), ask_and_reload_mid_answer, "v3-join"
        )
    assert_agent_session(replay.snapshot)
    assert "GET state" in protocol_requests(replay.events)
    assert_clean(replay.events)


def test_v3_served_interrupt_holds_until_approve(
    browser: Browser, pages: PageServer, v3_approval_demo: Recorded
):
    """Replayed, the interrupt shows Approve (again after a reload) and the run resumes only
    when it is clicked (``input.respond``)."""
    replay = served_approval(browser, pages, v3_approval_demo, "v3")
    assert protocol_requests(replay.events) == protocol_requests(v3_approval_demo.live.events)
