"""The classic chat page against the suite's real ``langgraph dev``: the harness sees what a
user sees (messages, tokens over time, interrupts, rejoins, errors)."""

from __future__ import annotations

import pytest
from chat import (
    ANSWER,
    QUESTION,
    assert_agent_session,
    assert_clean,
    assert_tokens_over_time,
    finished,
)

pytestmark = pytest.mark.live


def test_classic_page_streams_a_tool_calling_agent(browser, pages, langgraph_url):
    """The classic hook shows the question, the tool call, its result and the answer, token by
    token."""
    page = browser.open(pages.page("classic", langgraph_url, "agent_slow"))
    try:
        page.wait_until('s.status === "idle"')
        page.submit(QUESTION)
        page.wait_until(finished(ANSWER), 60)
        page.screenshot("live-classic-agent")
        assert_agent_session(page.snapshot())
        assert_tokens_over_time(page.timeline())
        assert_clean(page.events())
    finally:
        page.close()


def test_classic_page_rejoins_a_run_after_reload(browser, pages, langgraph_url):
    """Reloaded mid-answer, the classic hook rejoins the run and shows the whole session."""
    page = browser.open(pages.page("classic", langgraph_url, "agent_slow"))
    try:
        page.wait_until('s.status === "idle"')
        page.submit(QUESTION)
        page.wait_until("s.messages.length === 4 && s.messages[3].content.length > 0", 60)
        page.reload()
        page.wait_until(finished(ANSWER), 60)
        page.screenshot("live-classic-rejoin")
        assert_agent_session(page.snapshot())
        assert any("/stream" in r and r.startswith("GET ") for r in page.events()["requests"])
        assert_clean(page.events())
    finally:
        page.close()


def test_classic_page_holds_at_an_interrupt_until_approved(browser, pages, langgraph_url):
    """The interrupt graph shows Approve; clicking it resumes the run with the approval."""
    page = browser.open(pages.page("classic", langgraph_url, "interrupting"))
    try:
        page.wait_until('s.status === "idle"')
        page.submit("go")
        page.wait_until('s.status === "interrupted" && s.approve', 30)
        assert page.snapshot()["interrupt"] == '{"question":"approve?"}'
        page.screenshot("live-classic-interrupt")
        page.click('[data-testid="approve"]')
        page.wait_until('s.status === "idle" && s.values.includes("approved")', 30)
        assert '"approved":"approved"' in page.snapshot()["values"]
        assert_clean(page.events())
    finally:
        page.close()
