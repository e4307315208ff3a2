"""A node that always raises, so the run's stream ends with ``event: error``."""

from typing import TypedDict

from langgraph.graph import START, StateGraph


class State(TypedDict, total=False):
    value: str


def explode(state: State) -> State:
    raise ValueError("boom")


graph = StateGraph(State).add_node(explode).add_edge(START, "explode").compile()
