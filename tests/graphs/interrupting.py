"""A node that interrupts for approval and stores the resume value."""

from typing import TypedDict

from langgraph.graph import START, StateGraph
from langgraph.types import interrupt


class State(TypedDict, total=False):
    approved: str


def ask(state: State) -> State:
    answer = interrupt({"question": "approve?"})
    return {"approved": answer}


graph = StateGraph(State).add_node(ask).add_edge(START, "ask").compile()
