"""``recursion_limit``: a graph that loops forever stops with ``GraphRecursionError``
after that many steps (LangGraph docs: "Graph API > Recursion limit")."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.errors import GraphRecursionError
from langgraph.graph import END, START, StateGraph

FEATURE = "recursion_limit and GraphRecursionError"


class State(TypedDict):
    n: int


async def loop(state: State) -> dict[str, Any]:
    return {"n": state["n"] + 1}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("loop", loop)
    builder.add_edge(START, "loop")
    builder.add_conditional_edges("loop", lambda s: "loop" if s["n"] < 100 else END)
    graph = builder.compile()
    results: dict[str, Any] = {}
    chunks: list[Any] = []
    try:
        async for chunk in graph.astream({"n": 0}, {"recursion_limit": 4}):
            chunks.append(chunk)
    except GraphRecursionError as exc:
        results["error"] = (type(exc).__name__, str(exc), isinstance(exc, RecursionError))
    results["chunks"] = chunks
    results["enough"] = await graph.ainvoke({"n": 97}, {"recursion_limit": 4})
    try:
        await graph.ainvoke({"n": 96}, {"recursion_limit": 4})
        results["exact"] = "no error"
    except GraphRecursionError:
        results["exact"] = "GraphRecursionError: 4 steps need recursion_limit 5"
    return results
