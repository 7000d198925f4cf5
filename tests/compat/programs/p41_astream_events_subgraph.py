"""``astream_events(version="v2")`` through a subgraph: the child graph's run and its
nodes' events, with parent ids and checkpoint namespaces (LangGraph docs: "Streaming >
Stream subgraph outputs")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = "astream_events v2 through a subgraph"


class State(TypedDict):
    log: Annotated[list[str], operator.add]


async def c1(state: State) -> dict[str, Any]:
    return {"log": ["c1"]}


async def p(state: State) -> dict[str, Any]:
    return {"log": ["p"]}


async def main() -> Any:
    child = StateGraph(State)
    child.add_node("c1", c1)
    child.add_edge(START, "c1")
    child.add_edge("c1", END)
    builder = StateGraph(State)
    builder.add_node("p", p)
    builder.add_node("child", child.compile(name="child_graph"))
    builder.add_edge(START, "p")
    builder.add_edge("p", "child")
    builder.add_edge("child", END)
    graph = builder.compile(name="parent_graph")
    return [e async for e in graph.astream_events({"log": []}, version="v2")]
