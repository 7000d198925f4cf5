"""Streaming from subgraphs: ``subgraphs=True`` gives ``(namespace, chunk)`` for the
parent (namespace ``()``) and for the subgraph (``("node:<task id>",)``), with custom
writes from inside the subgraph (LangGraph docs: "Stream subgraph outputs")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph

FEATURE = "stream with subgraphs=True (updates, values, custom) and without"


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


async def c1(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 100, "log": ["c1"]}


async def c2(state: State) -> dict[str, Any]:
    get_stream_writer()({"from": "c2"})
    return {"log": ["c2"]}


async def p(state: State) -> dict[str, Any]:
    return {"log": ["p"]}


async def main() -> Any:
    child = StateGraph(State)
    child.add_node("c1", c1)
    child.add_node("c2", c2)
    child.add_edge(START, "c1")
    child.add_edge("c1", "c2")
    child.add_edge("c2", END)
    builder = StateGraph(State)
    builder.add_node("p", p)
    builder.add_node("child", child.compile())
    builder.add_edge(START, "p")
    builder.add_edge("p", "child")
    builder.add_edge("child", END)
    graph = builder.compile()
    inputs: State = {"x": 0, "log": []}
    return {
        "invoke": await graph.ainvoke(inputs),
        "updates": [c async for c in graph.astream(inputs, subgraphs=True)],
        "values": [c async for c in graph.astream(inputs, stream_mode="values", subgraphs=True)],
        "custom_no_subgraphs": [c async for c in graph.astream(inputs, stream_mode="custom")],
        "custom": [c async for c in graph.astream(inputs, stream_mode="custom", subgraphs=True)],
        "updates_and_custom": [
            c
            async for c in graph.astream(inputs, stream_mode=["updates", "custom"], subgraphs=True)
        ],
    }
