"""The seed subgraph graph: node_2 is a compiled subgraph sharing the ``foo`` key."""

from typing import TypedDict

from langgraph.graph import START, StateGraph


class SubgraphState(TypedDict):
    foo: str  # shared with the parent graph
    bar: str


def subgraph_node_1(state: SubgraphState) -> dict[str, str]:
    return {"bar": "bar"}


def subgraph_node_2(state: SubgraphState) -> dict[str, str]:
    return {"foo": state["foo"] + state["bar"]}


subgraph = (
    StateGraph(SubgraphState)
    .add_node(subgraph_node_1)
    .add_node(subgraph_node_2)
    .add_edge(START, "subgraph_node_1")
    .add_edge("subgraph_node_1", "subgraph_node_2")
    .compile()
)


class ParentState(TypedDict):
    foo: str


def node_1(state: ParentState) -> dict[str, str]:
    return {"foo": "hi! " + state["foo"]}


graph = (
    StateGraph(ParentState)
    .add_node("node_1", node_1)
    .add_node("node_2", subgraph)
    .add_edge(START, "node_1")
    .add_edge("node_1", "node_2")
    .compile()
)
