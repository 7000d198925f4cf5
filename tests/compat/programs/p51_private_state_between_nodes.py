"""Private state between nodes: a key that is not in the graph's state schema but is
declared by a node's input annotation becomes a channel, so one node can write it and
the next read it (LangGraph docs: "Pass private state between nodes")."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = "private state: keys declared by a node's input annotation"


class OverallState(TypedDict):
    a: str


class PrivateState(TypedDict):
    private_data: str


async def node_1(state: OverallState) -> PrivateState:
    return {"private_data": f"set by node_1 from {state['a']}"}


async def node_2(state: PrivateState) -> OverallState:
    return {"a": f"node_2 read: {state['private_data']}"}


async def main() -> Any:
    builder = StateGraph(OverallState)
    builder.add_node("node_1", node_1)
    builder.add_node("node_2", node_2)
    builder.add_edge(START, "node_1")
    builder.add_edge("node_1", "node_2")
    builder.add_edge("node_2", END)
    graph = builder.compile()
    return await graph.ainvoke({"a": "start"})
