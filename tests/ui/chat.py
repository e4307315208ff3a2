"""What the chat pages should show for the test graphs, as assertions over page snapshots."""

from __future__ import annotations

import json
from typing import Any

QUESTION = "what's the weather in la"
# tests/graphs/agent.py
ANSWER = "The weather in Los Angeles is sunny and 72 degrees."
WEATHER = "Los Angeles: sunny, 72 degrees Fahrenheit, light breeze from the west."


def assert_agent_session(snapshot: dict[str, Any]) -> None:
    """The agent's four messages: question, tool call, tool result, answer."""
    messages = snapshot["messages"]
    assert [m["type"] for m in messages] == ["human", "ai", "tool", "ai"], messages
    assert messages[0]["content"] == QUESTION
    assert messages[1]["toolCalls"] == ["search"]
    assert messages[2]["toolResult"] == WEATHER
    assert messages[3]["content"] == ANSWER
    assert snapshot["status"] == "idle"


def answer_states(timeline: list[dict[str, Any]]) -> list[str]:
    """The distinct partial answers the page showed before the whole answer."""
    seen: list[str] = []
    for entry in timeline:
        messages = entry["snapshot"]["messages"]
        if len(messages) == 4 and messages[3]["type"] == "ai":
            content = messages[3]["content"]
            if content and content != ANSWER and content not in seen:
                seen.append(content)
    return seen


def assert_tokens_over_time(timeline: list[dict[str, Any]], at_least: int = 3) -> None:
    """The answer grew in the DOM through several partial states, each a prefix of the next."""
    partial = answer_states(timeline)
    assert len(partial) >= at_least, f"partial answers shown: {partial}"
    for shorter, longer in zip(partial, [*partial[1:], ANSWER], strict=True):
        assert longer.startswith(shorter), (shorter, longer)


def assert_held_until_approved(timeline: list[dict[str, Any]]) -> None:
    """The interrupt showed its question, and nothing of the continuation showed while
    Approve waited for its click."""
    interrupted = [entry for entry in timeline if entry["snapshot"]["status"] == "interrupted"]
    assert interrupted
    assert all(entry["snapshot"]["interrupt"] == '{"question":"approve?"}' for entry in interrupted)
    waiting = [entry for entry in timeline if entry["snapshot"]["approve"]]
    assert waiting
    assert not any('"approved"' in entry["snapshot"]["values"] for entry in waiting)


def assert_clean(events: dict[str, list[str]]) -> None:
    """No console or page error and no 4xx/5xx response."""
    assert events["consoleErrors"] == []
    assert events["pageErrors"] == []
    assert events["failedResponses"] == []


def finished(answer: str) -> str:
    """A page condition: the run is over and the last message is ``answer``."""
    return f's.status === "idle" && s.messages.at(-1)?.content === {json.dumps(answer)}'
