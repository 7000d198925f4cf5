"""A root state: ``StateGraph(Annotated[list, operator.add])`` has no keys; each node gets
the value and returns its new value, a node may write it several times with a list of
Commands, and the run's output and ``values``/``updates`` chunks are the value itself."""

from __future__ import annotations

import operator
from typing import Annotated, Any

from langgraph.graph import START, StateGraph
from langgraph.types import Command

FEATURE = "root state (StateGraph(Annotated[list, operator.add])), several writes per node"


async def first(state: list[str]) -> Any:
    return [Command(update=["a1"]), ["a2"]]


async def second(state: list[str]) -> list[str]:
    return [f"b{len(state)}"]


async def main() -> Any:
    schema: Any = Annotated[list[str], operator.add]
    builder: Any = StateGraph(schema)
    builder.add_sequence([first, second])
    builder.add_edge(START, "first")
    graph = builder.compile()
    result = await graph.ainvoke(["in"])
    chunks = [c async for c in graph.astream(["in"], stream_mode=["updates", "values"])]
    return {"result": result, "chunks": chunks}
