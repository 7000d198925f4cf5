"""Conditional edges: a routing function with a ``path_map`` loops a node until a
condition holds, then goes to END (LangGraph docs: "Graph API > Conditional edges")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = "conditional edges with path_map, loop until done"


class State(TypedDict):
    n: int
    trail: Annotated[list[str], operator.add]


async def step(state: State) -> dict[str, Any]:
    return {"n": state["n"] + 1, "trail": [f"step{state['n']}"]}


async def finish(state: State) -> dict[str, Any]:
    return {"trail": ["finish"]}


def route(state: State) -> Literal["again", "done"]:
    return "again" if state["n"] < 3 else "done"


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("step", step)
    builder.add_node("finish", finish)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", route, {"again": "step", "done": "finish"})
    builder.add_edge("finish", END)
    graph = builder.compile()
    return {
        "from_0": await graph.ainvoke({"n": 0, "trail": []}),
        "from_5": await graph.ainvoke({"n": 5, "trail": []}),
        "updates": [c async for c in graph.astream({"n": 1, "trail": []}, stream_mode="updates")],
    }
