"""``stream_mode="updates"`` (the default of ``astream``): one ``{node: writes}`` chunk
per task; a node writing nothing gives ``{node: None}`` (LangGraph docs: "Streaming >
updates")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = 'stream_mode="updates" (the default)'


class State(TypedDict):
    topic: str
    log: Annotated[list[str], operator.add]


async def refine(state: State) -> dict[str, Any]:
    return {"topic": state["topic"] + "!", "log": ["refine"]}


async def silent(state: State) -> None:
    return None


async def empty(state: State) -> dict[str, Any]:
    return {}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("refine", refine)
    builder.add_node("silent", silent)
    builder.add_node("empty", empty)
    builder.add_edge(START, "refine")
    builder.add_edge("refine", "silent")
    builder.add_edge("silent", "empty")
    builder.add_edge("empty", END)
    graph = builder.compile()
    inputs: State = {"topic": "otters", "log": []}
    return {
        "default_mode": graph.stream_mode,
        "default": [chunk async for chunk in graph.astream(inputs)],
        "updates": [chunk async for chunk in graph.astream(inputs, stream_mode="updates")],
        "ainvoke_updates": await graph.ainvoke(inputs, stream_mode="updates"),
    }
