"""An unknown ``stream_mode`` (a typo such as ``"value"``)."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = "unknown stream_mode"
DIFFERENCE = (
    "LangGraph yields nothing for an unknown mode; scopegraph raises ValueError naming the "
    "valid modes"
)


class State(TypedDict):
    x: int


async def node(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    graph = builder.compile()
    results: dict[str, Any] = {}
    modes: dict[str, Any] = {"typo": "value", "in_a_list": ["values", "value"]}
    for label, mode in modes.items():
        try:
            results[label] = [c async for c in graph.astream({"x": 0}, stream_mode=mode)]
        except ValueError as exc:
            results[label] = ("ValueError", "'values'" in str(exc) and "'updates'" in str(exc))
    return results


def expected_difference(langgraph_result: Any, scopegraph_result: Any) -> None:
    assert langgraph_result == {
        "typo": [],
        "in_a_list": [("values", {"x": 0}), ("values", {"x": 1})],
    }
    assert scopegraph_result == {"typo": ("ValueError", True), "in_a_list": ("ValueError", True)}
