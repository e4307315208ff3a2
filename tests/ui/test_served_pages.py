"""The classic chat page recorded live through ``streamcassette proxy`` from ``langgraph dev``,
then replayed from ``streamcassette serve`` in a fresh profile, with a listener on the
proxy's old port that fails the test on any connection."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from browser import Browser, Page, PageServer
from chat import (
    ANSWER,
    QUESTION,
    assert_agent_session,
    assert_clean,
    assert_held_until_approved,
    assert_tokens_over_time,
    finished,
)
from jsclient import cli
from loopback import LoopbackServer

from streamcassette import load
from streamcassette.serve import BackgroundServer, proxy_app

Demo = Callable[[Page], None]


def ask_the_agent(page: Page) -> None:
    page.wait_until('s.status === "idle"')
    page.submit(QUESTION)
    page.wait_until(finished(ANSWER), 60)


def ask_and_reload_mid_answer(page: Page) -> None:
    page.wait_until('s.status === "idle"')
    page.submit(QUESTION)
    page.wait_until("s.messages.length === 4 && s.messages[3].content.length > 0", 60)
    page.reload()
    page.wait_until(finished(ANSWER), 60)


# A user reads the question before approving. The v3 hook rejoins a thread in two steps: it
# shows the interrupt of the thread's state, then re-subscribes and gets the thread's events
# again; Approve clicked in between (within ~0.1 s) answers the interrupt before the replayed
# events raise it again, and the page keeps showing it (@langchain/react 1.1.0, live too).
READING_TIME = 1.0


def approve_after_reload(page: Page) -> None:
    page.wait_until('s.status === "idle"')
    page.submit("go")
    page.wait_until('s.status === "interrupted" && s.approve', 30)
    page.reload()
    page.wait_until('s.status === "interrupted" && s.approve', 30)
    time.sleep(READING_TIME)
    page.click('[data-testid="approve"]')
    page.wait_until('s.status === "idle" && s.values.includes("approved")', 30)


@dataclass
class Session:
    """One demo as the page saw it: final snapshot, DOM states over time, browser events."""

    snapshot: dict
    timeline: list[dict]
    events: dict[str, list[str]]


def play(browser: Browser, url: str, demo: Demo, screenshot: str) -> Session:
    page = browser.open(url)
    try:
        demo(page)
        page.screenshot(screenshot)
        return Session(page.snapshot(), page.timeline(), page.events())
    finally:
        page.close()


@dataclass
class Recorded:
    folder: Path
    port: int  # where the page found its server while recording
    live: Session


def record(
    browser, pages, langgraph_url, folder: Path, assistant: str, demo: Demo, hook: str = "classic"
) -> Recorded:
    """Play ``demo`` on the ``hook`` page live through ``streamcassette proxy``; the proxy is
    stopped on return."""
    with BackgroundServer(proxy_app(langgraph_url, folder)) as proxy:
        live = play(browser, pages.page(hook, proxy.url, assistant), demo, folder.name)
        assert proxy.port is not None
        port = proxy.port
    return Recorded(folder, port, live)


@contextlib.contextmanager
def served(recorded: Recorded) -> Iterator[str]:
    """``streamcassette serve FOLDER --speed 1`` (the command, as a user runs it) on the
    recorded folder, and a listener where the live server was that counts connections."""
    with LoopbackServer(recorded.port) as sentinel:
        with cli("serve", str(recorded.folder), "--speed", "1") as (url, _process):
            yield url
        assert sentinel.connections == 0, f"the replayed page reached {sentinel.requests}"


@pytest.fixture(scope="module")
def agent_demo(browser, pages, langgraph_url, tmp_path_factory) -> Recorded:
    folder = tmp_path_factory.mktemp("agent-demo")
    return record(browser, pages, langgraph_url, folder, "agent_slow", ask_the_agent)


@pytest.fixture(scope="module")
def rejoin_demo(browser, pages, langgraph_url, tmp_path_factory) -> Recorded:
    folder = tmp_path_factory.mktemp("rejoin-demo")
    return record(browser, pages, langgraph_url, folder, "agent_slow", ask_and_reload_mid_answer)


@pytest.fixture(scope="module")
def approval_demo(browser, pages, langgraph_url, tmp_path_factory) -> Recorded:
    folder = tmp_path_factory.mktemp("approval-demo")
    return record(browser, pages, langgraph_url, folder, "interrupting", approve_after_reload)


def served_to_two_visitors(
    browser: Browser, pages: PageServer, demo: Recorded, hook: str
) -> Session:
    """The agent demo served to two visitors in turn (fresh profiles) on the ``hook`` page:
    each sees the session the recording saw, the first with the answer growing over time,
    each on a thread and with message ids of its own, without errors. Returns the first."""
    assert_agent_session(demo.live.snapshot)
    assert_tokens_over_time(demo.live.timeline)
    with served(demo) as url:
        replay = play(browser, pages.page(hook, url, "agent_slow"), ask_the_agent, f"{hook}-served")
        again = play(browser, pages.page(hook, url, "agent_slow"), ask_the_agent, f"{hook}-again")
    for session in (replay, again):
        assert_agent_session(session.snapshot)
        assert [m["content"] for m in session.snapshot["messages"]] == [
            m["content"] for m in demo.live.snapshot["messages"]
        ]
        assert_clean(session.events)
    assert_tokens_over_time(replay.timeline)
    assert again.snapshot["thread"] != replay.snapshot["thread"]
    assert again.snapshot["messages"][0]["id"] != replay.snapshot["messages"][0]["id"]
    return replay


def served_approval(browser: Browser, pages: PageServer, demo: Recorded, hook: str) -> Session:
    """The approval demo served to the ``hook`` page: the interrupt holds until Approve (also
    across the reload at it), then the run ends approved, without errors, as it did live."""
    assert '"approved":"approved"' in demo.live.snapshot["values"]
    with served(demo) as url:
        replay = play(
            browser, pages.page(hook, url, "interrupting"), approve_after_reload, f"{hook}-approve"
        )
    assert '"approved":"approved"' in replay.snapshot["values"]
    assert_held_until_approved(replay.timeline)
    assert_clean(replay.events)
    return replay


def recorded_human_ids(folder: Path) -> set[str]:
    """The message ids the page minted while recording (in the recorded run requests)."""
    ids = set()
    for path in folder.glob("*.json"):
        for interaction in load(path).interactions:
            request = interaction.request
            if request.path.endswith("/runs/stream") and request.body is not None:
                body = request.body.json_or_none() or {}
                for message in (body.get("input") or {}).get("messages", []):
                    ids.add(message["id"])
    return ids


def test_served_agent_demo_streams_tokens_with_the_pages_own_message_id(
    browser: Browser, pages: PageServer, agent_demo: Recorded
):
    """Replayed, the page shows the same four messages, its own human message id (no
    duplicate), and the answer growing over time at speed 1, without errors; so does a
    second visitor."""
    replay = served_to_two_visitors(browser, pages, agent_demo, "classic")
    human = replay.snapshot["messages"][0]["id"]
    assert human not in recorded_human_ids(agent_demo.folder)


def test_served_page_rejoins_the_run_after_a_reload(
    browser: Browser, pages: PageServer, rejoin_demo: Recorded
):
    """Reloaded mid-answer, the replayed page rejoins the run (Last-Event-ID -1) and ends
    with the whole session."""
    with served(rejoin_demo) as url:
        replay = play(
            browser, pages.page("classic", url, "agent_slow"), ask_and_reload_mid_answer, "rejoin"
        )
    assert_agent_session(replay.snapshot)
    joins = [r for r in replay.events["requests"] if r.startswith("GET ") and "/stream" in r]
    assert len(joins) == 1, replay.events["requests"]
    assert_clean(replay.events)


def test_served_interrupt_holds_until_approve(
    browser: Browser, pages: PageServer, approval_demo: Recorded
):
    """Replayed, the interrupt shows Approve (again after a reload) and the run resumes only
    when it is clicked."""
    served_approval(browser, pages, approval_demo, "classic")


def test_served_resume_with_another_value_names_the_recorded_one(approval_demo: Recorded):
    """A resume value that was not recorded gets a 404 naming the recorded resume."""
    modes = ["messages-tuple", "values"]
    with served(approval_demo) as url, httpx.Client(base_url=url, trust_env=False) as http:
        thread = http.post("/threads", json={}).json()["thread_id"]
        run = {"assistant_id": "interrupting", "stream_mode": modes, "stream_resumable": True}
        first = http.post(f"/threads/{thread}/runs/stream", json={**run, "input": {}})
        refused = http.post(
            f"/threads/{thread}/runs/stream",
            json={**run, "input": None, "command": {"resume": "rejected"}},
        )
    assert first.status_code == 200
    assert "__interrupt__" in first.text
    assert refused.status_code == 404
    detail = refused.json()["detail"]
    assert "the recorded run resumes with 'approved', this request with 'rejected'" in detail


def test_served_page_stops_a_run_with_a_cancel(
    browser: Browser, pages: PageServer, agent_demo: Recorded
):
    """Stop mid-answer cancels the served run (202) and the page settles, without errors."""
    with served(agent_demo) as url:
        page = browser.open(pages.page("classic", url, "agent_slow"))
        try:
            page.wait_until('s.status === "idle"')
            page.submit(QUESTION)
            page.wait_until("s.messages.length === 4 && s.messages[3].content.length > 0", 60)
            page.click('[data-testid="stop"]')
            page.wait_until('s.status === "idle"', 30)
            page.screenshot("stopped")
            events = page.events()
        finally:
            page.close()
    cancels = [r for r in events["requests"] if r.startswith("POST ") and "/cancel?" in r]
    assert len(cancels) == 1, "\n".join(events["requests"])
    assert_clean(events)


def test_served_page_rejoins_even_where_the_recording_never_reloaded(
    browser: Browser, pages: PageServer, agent_demo: Recorded
):
    """A reload mid-answer that the recording never had still rejoins: serve plays the run's
    own stream to the join (Last-Event-ID -1) and the page ends with the whole session."""
    with served(agent_demo) as url:
        replay = play(
            browser, pages.page("classic", url, "agent_slow"), ask_and_reload_mid_answer, "join"
        )
    assert_agent_session(replay.snapshot)
    joins = [r for r in replay.events["requests"] if r.startswith("GET ") and "/stream" in r]
    assert len(joins) == 1, replay.events["requests"]
    assert_clean(replay.events)


def test_served_page_reading_history_gets_it_synthesized_from_the_run(
    browser: Browser, pages: PageServer, agent_demo: Recorded
):
    """A page that reads the thread's history (never recorded) gets it synthesized from what
    the run streamed, and shows the same session after a reload."""
    with served(agent_demo) as url:
        replay = play(
            browser,
            pages.page("classic", url, "agent_slow", history="1"),
            ask_and_reload_mid_answer,
            "history",
        )
    assert_agent_session(replay.snapshot)
    reads = [r for r in replay.events["requests"] if r.startswith("POST ") and "/history" in r]
    assert reads, replay.events["requests"]
    assert_clean(replay.events)
