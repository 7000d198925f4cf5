"""A node that takes a ``writer: StreamWriter`` parameter gets the custom-stream writer
injected (LangGraph docs: "Streaming > Stream custom data", the ``writer`` argument)."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import StreamWriter

FEATURE = "writer: StreamWriter node parameter"


class State(TypedDict):
    x: int


async def node(state: State, writer: StreamWriter) -> dict[str, Any]:
    writer({"progress": "half way"})
    return {"x": state["x"] + 1}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    graph = builder.compile()
    return [c async for c in graph.astream({"x": 0}, stream_mode=["custom", "updates"])]
