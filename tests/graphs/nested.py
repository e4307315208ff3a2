"""Subgraph drift: ``child`` is a compiled subgraph that runs an extra node when the run's
config asks (``configurable.extra_step``), so two runs differ inside one namespace only;
``node_1`` and ``node_3`` run at the root before and after it, with the same state."""

from typing import TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph


class ChildState(TypedDict):
    foo: str  # shared with the parent graph
    bar: str


def child_1(state: ChildState) -> dict[str, str]:
    return {"bar": "bar"}


def child_extra(state: ChildState) -> dict[str, str]:
    return {"bar": state["bar"] + " again"}


def child_2(state: ChildState) -> dict[str, str]:
    return {"foo": state["foo"] + " and bar"}  # the same either way: the root sees no drift


def _after_child_1(state: ChildState, config: RunnableConfig) -> str:
    return "child_extra" if config.get("configurable", {}).get("extra_step") else "child_2"


child = (
    StateGraph(ChildState)
    .add_node(child_1)
    .add_node(child_extra)
    .add_node(child_2)
    .add_edge(START, "child_1")
    .add_conditional_edges("child_1", _after_child_1, ["child_extra", "child_2"])
    .add_edge("child_extra", "child_2")
    .add_edge("child_2", END)
    .compile()
)


class ParentState(TypedDict):
    foo: str


def node_1(state: ParentState) -> dict[str, str]:
    return {"foo": "hi! " + state["foo"]}


def node_3(state: ParentState) -> dict[str, str]:
    return {"foo": state["foo"] + ", bye"}


graph = (
    StateGraph(ParentState)
    .add_node("node_1", node_1)
    .add_node("child", child)
    .add_node("node_3", node_3)
    .add_edge(START, "node_1")
    .add_edge("node_1", "child")
    .add_edge("child", "node_3")
    .compile()
)
