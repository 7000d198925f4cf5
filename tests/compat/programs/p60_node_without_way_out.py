"""A graph with a node that no edge leaves (the run ends there), a node that no edge
reaches (it never runs), and a node that routes with Command(goto=...) with no edge out and
no declared destinations.

LangGraph compiles all three; so does scopegraph by default (``compile(strict=True)`` and
``scopegraph.check(graph)`` report the first two).
"""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import START, StateGraph
from langgraph.types import Command

FEATURE = "node with no edge out / unreachable node / undeclared Command(goto=...)"


class State(TypedDict):
    x: int


async def node(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1}


async def jump(state: State) -> Any:  # no Command[Literal[...]] annotation
    return Command(update={"x": state["x"] + 10}, goto="node")


async def main() -> Any:
    results: dict[str, Any] = {}
    dead_end = StateGraph(State)
    dead_end.add_node("node", node)
    dead_end.add_edge(START, "node")
    unreachable = StateGraph(State)
    unreachable.add_node("node", node)
    unreachable.add_node("island", node)
    unreachable.add_edge(START, "node")
    unreachable.add_edge("node", "__end__")
    unreachable.add_edge("island", "__end__")
    command = StateGraph(State)
    command.add_node("jump", jump)
    command.add_node("node", node)
    command.add_edge(START, "jump")
    for label, builder in (
        ("dead_end", dead_end),
        ("unreachable", unreachable),
        ("command", command),
    ):
        graph = builder.compile()
        results[label] = {
            "result": await graph.ainvoke({"x": 0}),
            "chunks": [c async for c in graph.astream({"x": 0}, stream_mode=["updates", "values"])],
        }
    return results
