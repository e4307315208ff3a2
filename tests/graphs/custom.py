"""A node that emits custom stream events through ``get_stream_writer``."""

from typing import TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import START, StateGraph


class State(TypedDict, total=False):
    steps: int


def work(state: State) -> State:
    writer = get_stream_writer()
    for i in range(1, 4):
        writer({"progress": i})
    return {"steps": 3}


graph = StateGraph(State).add_node(work).add_edge(START, "work").compile()
