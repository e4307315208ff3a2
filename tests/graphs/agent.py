"""A weather agent driven by a fake chat model that streams its answers token by token.

The model decides from the conversation alone (no shared iterator), so every run on the same
server streams the same tokens: first a ``search`` tool call, then the final answer.

``config={"configurable": {"token_pacing": True}}`` spaces the tokens 20-60 ms apart, like a
hosted model (the bundled recording is made so, for real-time playback to visibly stream);
without it they come as fast as the server sends them, which keeps the live tests quick.

``slow_graph`` (graph ``agent_slow``, for the browser tests) streams its tokens ~0.1 s apart,
so a page visibly receives them over time, and its tool call in one chunk: the v3
``messages`` channel builds a tool call from its first chunk, so split arguments would end as
an invalid call.
"""

import json
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

QUERY = "weather in los angeles"
ANSWER = "The weather in Los Angeles is sunny and 72 degrees."
WEATHER = "Los Angeles: sunny, 72 degrees Fahrenheit, light breeze from the west."


@tool
def search(query: str) -> str:
    """Look up the current weather."""
    return WEATHER


class FakeWeatherModel(BaseChatModel):
    """Calls ``search`` until a tool result is in the conversation, then answers."""

    token_pacing: bool = False  # 20-60 ms between tokens, like a hosted model
    token_delay: float = 0.0  # seconds before each streamed chunk
    whole_call: bool = False  # the tool call's arguments in one chunk

    @property
    def _llm_type(self) -> str:
        return "fake-weather-model"

    def _chunks(self, messages: list[BaseMessage]) -> list[AIMessageChunk]:
        if isinstance(messages[-1], ToolMessage):
            return [AIMessageChunk(content=token) for token in re.findall(r"\S+\s*", ANSWER)]
        # The tool call's id varies per run, like a real provider's.
        call_id = f"call_{uuid.uuid4().hex[:24]}"
        args = json.dumps({"query": QUERY})
        if self.whole_call:
            call = {"name": "search", "args": args, "id": call_id, "index": 0}
            return [AIMessageChunk(content="", tool_call_chunks=[call])]
        split = len(args) // 2
        return [
            AIMessageChunk(
                content="",
                tool_call_chunks=[
                    {"name": "search", "args": args[:split], "id": call_id, "index": 0}
                ],
            ),
            AIMessageChunk(
                content="",
                tool_call_chunks=[{"name": None, "args": args[split:], "id": None, "index": 0}],
            ),
        ]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        chunks = self._chunks(messages)
        merged = chunks[0]
        for chunk in chunks[1:]:
            merged = merged + chunk
        message = AIMessage(content=merged.content, tool_calls=merged.tool_calls)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        chunks = self._chunks(messages)
        for i, message in enumerate(chunks):
            if self.token_pacing and i:
                time.sleep(token_gap(i))
            if self.token_delay:
                time.sleep(self.token_delay)
            if i == len(chunks) - 1:
                message.chunk_position = "last"
            chunk = ChatGenerationChunk(message=message)
            if run_manager:
                run_manager.on_llm_new_token(str(message.content), chunk=chunk)
            yield chunk


def token_gap(index: int) -> float:
    """Seconds before token ``index``: 20 to 60 ms, varied but the same on every run."""
    return 0.020 + 0.040 * ((index * 7) % 13) / 12


model = FakeWeatherModel()
paced_model = FakeWeatherModel(token_pacing=True)


def build(chat: FakeWeatherModel | None = None, transformers: Sequence[Any] = ()) -> Any:
    """The agent graph: call the model, run the tool it asks for, call it again. Without
    ``chat``, the model is paced when the run's config asks for ``token_pacing``;
    ``transformers`` are passed to ``compile`` (v3 stream transformers)."""

    def agent(state: MessagesState, config: RunnableConfig) -> dict[str, list[BaseMessage]]:
        paced = (config.get("configurable") or {}).get("token_pacing")
        chosen = chat or (paced_model if paced else model)
        return {"messages": [chosen.invoke(state["messages"])]}

    return (
        StateGraph(MessagesState)
        .add_node("agent", agent)
        .add_node("action", ToolNode([search]))
        .add_edge(START, "agent")
        .add_conditional_edges("agent", tools_condition, {"tools": "action", END: END})
        .add_edge("action", "agent")
        .compile(transformers=list(transformers) or None)
    )


graph = build()
slow_graph = build(FakeWeatherModel(token_delay=0.1, whole_call=True))
