"""A compiled subgraph added directly as a node: it shares the parent's ``foo`` key and
keeps a private ``bar`` key of its own (LangGraph docs: "Subgraphs > Shared state
schemas")."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = "subgraph as a node, shared state keys"


class ParentState(TypedDict):
    foo: str


class SubgraphState(TypedDict):
    foo: str  # shared with the parent
    bar: str  # private to the subgraph


async def sub_1(state: SubgraphState) -> dict[str, Any]:
    return {"bar": "bar"}


async def sub_2(state: SubgraphState) -> dict[str, Any]:
    return {"foo": state["foo"] + state["bar"]}


async def node_1(state: ParentState) -> dict[str, Any]:
    return {"foo": "hi! " + state["foo"]}


async def main() -> Any:
    sub = StateGraph(SubgraphState)
    sub.add_node("sub_1", sub_1)
    sub.add_node("sub_2", sub_2)
    sub.add_edge(START, "sub_1")
    sub.add_edge("sub_1", "sub_2")
    sub.add_edge("sub_2", END)
    subgraph = sub.compile()

    builder = StateGraph(ParentState)
    builder.add_node("node_1", node_1)
    builder.add_node("node_2", subgraph)
    builder.add_edge(START, "node_1")
    builder.add_edge("node_1", "node_2")
    builder.add_edge("node_2", END)
    graph = builder.compile()
    foo_only: Any = {"foo": "x"}  # the subgraph's private bar is set by sub_1
    return {
        "invoke": await graph.ainvoke({"foo": "foo"}),
        "updates": [c async for c in graph.astream({"foo": "foo"})],
        "subgraph_alone": await subgraph.ainvoke(foo_only),
    }
