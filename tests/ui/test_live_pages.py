"""The chat pages (classic ``useStream`` and ``@langchain/react``) against the suite's real
``langgraph dev``: the harness sees what a user sees (messages, tokens over time, interrupts,
rejoins, errors)."""

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
HOOKS = ["classic", "v3"]


@pytest.mark.parametrize("hook", HOOKS)
def test_page_streams_a_tool_calling_agent(browser, pages, langgraph_url, hook):
    """Each hook shows the question, the tool call, its result and the answer, token by
    token."""
    page = browser.open(pages.page(hook, langgraph_url, "agent_slow"))
    try:
        page.wait_until('s.status === "idle"')
        page.submit(QUESTION)
        page.wait_until(finished(ANSWER), 60)
        page.screenshot(f"live-{hook}-agent")
        assert_agent_session(page.snapshot())
        assert_tokens_over_time(page.timeline())
        assert_clean(page.events())
    finally:
        page.close()


@pytest.mark.parametrize("hook", HOOKS)
def test_page_shows_the_session_after_a_reload(browser, pages, langgraph_url, hook):
    """Reloaded mid-answer, each hook ends with the whole session (classic: by rejoining the
    run)."""
    page = browser.open(pages.page(hook, langgraph_url, "agent_slow"))
    try:
        page.wait_until('s.status === "idle"')
        page.submit(QUESTION)
        page.wait_until("s.messages.length === 4 && s.messages[3].content.length > 0", 60)
        page.reload()
        page.wait_until(finished(ANSWER), 60)
        page.screenshot(f"live-{hook}-reload")
        assert_agent_session(page.snapshot())
        if hook == "classic":
            joins = [
                r for r in page.events()["requests"] if r.startswith("GET ") and "/stream" in r
            ]
            assert joins
        assert_clean(page.events())
    finally:
        page.close()


@pytest.mark.parametrize("hook", HOOKS)
def test_page_holds_at_an_interrupt_until_approved(browser, pages, langgraph_url, hook):
    """The interrupt graph shows Approve; clicking it resumes the run with the approval."""
    page = browser.open(pages.page(hook, langgraph_url, "interrupting"))
    try:
        page.wait_until('s.status === "idle"')
        page.submit("go")
        page.wait_until('s.status === "interrupted" && s.approve', 30)
        assert page.snapshot()["interrupt"] == '{"question":"approve?"}'
        page.screenshot(f"live-{hook}-interrupt")
        page.click('[data-testid="approve"]')
        page.wait_until('s.status === "idle" && s.values.includes("approved")', 30)
        assert '"approved":"approved"' in page.snapshot()["values"]
        assert_clean(page.events())
    finally:
        page.close()
