"""A subgraph with a different state schema, invoked from a node function that maps the
parent's state to the subgraph's input and back (LangGraph docs: "Subgraphs > Different
state schemas")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = "subgraph with a different state, called from a node function"


class SubgraphState(TypedDict):
    bar: str
    steps: Annotated[list[str], operator.add]


class ParentState(TypedDict):
    foo: str
    trace: Annotated[list[str], operator.add]


async def sub_1(state: SubgraphState) -> dict[str, Any]:
    return {"bar": state["bar"] + "!", "steps": ["sub_1"]}


async def sub_2(state: SubgraphState) -> dict[str, Any]:
    return {"bar": state["bar"].upper(), "steps": ["sub_2"]}


def build_subgraph() -> Any:
    sub = StateGraph(SubgraphState)
    sub.add_node("sub_1", sub_1)
    sub.add_node("sub_2", sub_2)
    sub.add_edge(START, "sub_1")
    sub.add_edge("sub_1", "sub_2")
    sub.add_edge("sub_2", END)
    return sub.compile()


async def main() -> Any:
    subgraph = build_subgraph()

    async def call_subgraph(state: ParentState) -> dict[str, Any]:
        result = await subgraph.ainvoke({"bar": state["foo"], "steps": []})
        return {"foo": result["bar"], "trace": result["steps"]}

    builder = StateGraph(ParentState)
    builder.add_node("call_subgraph", call_subgraph)
    builder.add_edge(START, "call_subgraph")
    builder.add_edge("call_subgraph", END)
    graph = builder.compile()
    return {
        "invoke": await graph.ainvoke({"foo": "hi", "trace": []}),
        "updates": [c async for c in graph.astream({"foo": "hi", "trace": []})],
        "with_subgraphs": [
            c async for c in graph.astream({"foo": "hi", "trace": []}, subgraphs=True)
        ],
    }
