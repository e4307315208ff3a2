"""Five steps of ~0.3 s each, long enough to join a resumable run mid-way."""

import time
from typing import Annotated, TypedDict

from langgraph.graph import START, StateGraph

STEPS = 5
DELAY_S = 0.3


def _add(left: list[int], right: list[int]) -> list[int]:
    return left + right


class State(TypedDict, total=False):
    done: Annotated[list[int], _add]


def _make_step(i: int):
    def step(state: State) -> State:
        time.sleep(DELAY_S)  # sync node: runs in a worker thread
        return {"done": [i]}

    return step


_builder = StateGraph(State)
_previous = START
for _i in range(1, STEPS + 1):
    _builder.add_node(f"step_{_i}", _make_step(_i))
    _builder.add_edge(_previous, f"step_{_i}")
    _previous = f"step_{_i}"

graph = _builder.compile()
