"""``stream_mode="tasks"``: a start payload (``id, name, input, triggers``) and a result
payload (``id, name, error, result, interrupts``) per task, for edges, joins and
``Send`` tasks."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Send

FEATURE = 'stream_mode="tasks" (edges, join edge, Send)'


class State(TypedDict):
    items: list[int]
    out: Annotated[list[int], operator.add]


async def prepare(state: State) -> dict[str, Any]:
    return {"items": [1, 2]}


async def square(state: dict[str, Any]) -> dict[str, Any]:
    return {"out": [state["item"] ** 2]}


async def total(state: State) -> dict[str, Any]:
    return {"out": [sum(state["out"])]}


def fan_out(state: State) -> list[Send]:
    return [Send("square", {"item": i}) for i in state["items"]]


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("prepare", prepare)
    builder.add_node("square", square)
    builder.add_node("total", total)
    builder.add_edge(START, "prepare")
    builder.add_conditional_edges("prepare", fan_out, ["square"])
    builder.add_edge("square", "total")
    builder.add_edge("total", END)
    graph = builder.compile()
    chunks = [c async for c in graph.astream({"items": [], "out": []}, stream_mode="tasks")]
    # The two square tasks start in Send order and finish in completion order.
    starts = [c for c in chunks if "input" in c]
    results = [c for c in chunks if "result" in c]
    return {
        "count": len(chunks),
        "first_is_prepare_start": chunks[0] == starts[0],
        "starts": starts,
        "results": sorted(results, key=lambda c: (c["name"], repr(c["result"]))),
        "last": chunks[-1],
    }
