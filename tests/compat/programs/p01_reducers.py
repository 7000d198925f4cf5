"""Reducers: a plain key is overwritten, ``Annotated[list, operator.add]`` appends, and a
custom reducer function merges (LangGraph docs: "Graph API > State > Reducers")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = "reducers: overwrite, operator.add, custom reducer function"


def merge_counts(left: dict[str, int], right: dict[str, int]) -> dict[str, int]:
    merged = dict(left)
    for key, value in right.items():
        merged[key] = merged.get(key, 0) + value
    return merged


class State(TypedDict):
    total: int
    log: Annotated[list[str], operator.add]
    counts: Annotated[dict[str, int], merge_counts]


async def first(state: State) -> dict[str, Any]:
    return {"total": state["total"] + 1, "log": ["first"], "counts": {"first": 1}}


async def second(state: State) -> dict[str, Any]:
    return {"total": state["total"] * 10, "log": ["second"], "counts": {"first": 1, "second": 2}}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("first", first)
    builder.add_node("second", second)
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    graph = builder.compile()
    partial: Any = {"total": 5}  # the reducer keys start empty
    inputs: State = {"total": 1, "log": ["input"], "counts": {"input": 1}}
    return {
        "invoke": await graph.ainvoke(inputs),
        "values": [chunk async for chunk in graph.astream(inputs, stream_mode="values")],
        "partial_input": await graph.ainvoke(partial),
    }
