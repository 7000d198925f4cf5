"""``astream_events(version="v2")``: LangChain-shaped start / stream / end events for the
graph and each node, including routing functions, with names, tags, metadata and
parent ids (LangGraph docs: "Streaming > astream_events")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = 'astream_events(version="v2") for nodes and routing functions'


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


async def a(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1, "log": ["a"]}


async def b(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1, "log": ["b"]}


def route(state: State) -> str:
    return "b" if state["x"] < 2 else END


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("a", a)
    builder.add_node("b", b)
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", route, ["b", END])
    builder.add_edge("b", END)
    graph = builder.compile()
    inputs: State = {"x": 0, "log": []}
    events = [e async for e in graph.astream_events(inputs, version="v2")]
    named = [
        e
        async for e in graph.astream_events(
            inputs,
            {"run_name": "MyRun", "tags": ["t0"], "metadata": {"m": 1}},
            version="v2",
        )
    ]
    return {"events": events, "configured": named}
