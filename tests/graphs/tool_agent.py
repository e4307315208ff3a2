"""The weather agent for v3 thread streams: its tool call streams as one chunk.

The v3 ``messages`` channel builds a tool call from its first chunk's arguments, so the
runs-protocol agent (``agent.py``, which splits them over two chunks) would end with an
invalid tool call; here the call is whole and the answer still streams token by token.
"""

import json
import re
import uuid

from agent import ANSWER, QUERY, FakeWeatherModel, search
from langchain_core.messages import AIMessageChunk, BaseMessage, ToolMessage
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition


class WholeCallModel(FakeWeatherModel):
    """``FakeWeatherModel`` with the tool call's arguments in a single chunk."""

    def _chunks(self, messages: list[BaseMessage]) -> list[AIMessageChunk]:
        if isinstance(messages[-1], ToolMessage):
            return [AIMessageChunk(content=token) for token in re.findall(r"\S+\s*", ANSWER)]
        call = {
            "name": "search",
            "args": json.dumps({"query": QUERY}),
            "id": f"call_{uuid.uuid4().hex[:24]}",
            "index": 0,
        }
        return [AIMessageChunk(content="", tool_call_chunks=[call])]


model = WholeCallModel()


def agent(state: MessagesState) -> dict[str, list[BaseMessage]]:
    return {"messages": [model.invoke(state["messages"])]}


graph = (
    StateGraph(MessagesState)
    .add_node("agent", agent)
    .add_node("action", ToolNode([search]))
    .add_edge(START, "agent")
    .add_conditional_edges("agent", tools_condition, {"tools": "action", END: END})
    .add_edge("action", "agent")
    .compile()
)
