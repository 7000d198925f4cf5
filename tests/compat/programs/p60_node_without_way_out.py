"""A graph with a node that no edge leaves (LangGraph lets the run end there) and a node
that no edge reaches (LangGraph never runs it)."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import START, StateGraph

FEATURE = "node with no edge out / unreachable node"
DIFFERENCE = (
    "LangGraph compiles both; scopegraph raises GraphValidationError at compile(), naming "
    "the node and the fix (add_edge(node, END))"
)


class State(TypedDict):
    x: int


async def node(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1}


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
    for label, builder in (("dead_end", dead_end), ("unreachable", unreachable)):
        try:
            results[label] = await builder.compile().ainvoke({"x": 0})
        except ValueError as exc:
            results[label] = (type(exc).__name__, str(exc).split(":")[0])
    return results


def expected_difference(langgraph_result: Any, scopegraph_result: Any) -> None:
    assert langgraph_result == {"dead_end": {"x": 1}, "unreachable": {"x": 1}}
    assert scopegraph_result == {
        "dead_end": ("GraphValidationError", "node 'node' has no way out"),
        "unreachable": ("GraphValidationError", "node 'island' has no way in"),
    }
