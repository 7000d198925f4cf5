"""Parallel branches: START fans out to three nodes, a join edge waits for all of them,
and the reducer applies their writes in a deterministic order (LangGraph docs: "Graph API
> Create branches")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = "parallel fan-out / fan-in with a join edge"


class State(TypedDict):
    aggregate: Annotated[list[str], operator.add]


def make_node(name: str) -> Any:
    async def node(state: State) -> dict[str, Any]:
        return {"aggregate": [f"{name} saw {len(state['aggregate'])}"]}

    return node


async def main() -> Any:
    builder = StateGraph(State)
    for name in ("a", "c", "b", "d"):
        builder.add_node(name, make_node(name))
    builder.add_edge(START, "a")
    builder.add_edge("a", "c")
    builder.add_edge("a", "b")
    builder.add_edge(["c", "b"], "d")
    builder.add_edge("d", END)
    graph = builder.compile()
    values = [chunk async for chunk in graph.astream({"aggregate": []}, stream_mode="values")]
    updates = [chunk async for chunk in graph.astream({"aggregate": []}, stream_mode="updates")]
    return {
        "invoke": await graph.ainvoke({"aggregate": []}),
        "values": values,
        # Parallel nodes stream in completion order: compare them as a set.
        "updates": sorted(updates, key=repr),
    }
