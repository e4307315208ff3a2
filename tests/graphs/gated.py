"""Two nodes; ``second`` waits until the file named by ``gate`` exists.

Lets a test prove that the first chunk reached the client before the server produced the second.
"""

import time
from pathlib import Path
from typing import TypedDict

from langgraph.graph import START, StateGraph


class State(TypedDict, total=False):
    gate: str
    first: str
    second: str


def first(state: State) -> State:
    return {"first": "done"}


def second(state: State) -> State:
    # Sync node: langgraph runs it in a worker thread, so blocking here does not stall the server.
    gate = Path(state["gate"])
    deadline = time.monotonic() + 30
    while not gate.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gate file {gate} never appeared")
        time.sleep(0.01)
    return {"second": "done"}


graph = (
    StateGraph(State)
    .add_node(first)
    .add_node(second)
    .add_edge(START, "first")
    .add_edge("first", "second")
    .compile()
)
