"""``astream_events(version="v1")``, LangChain's deprecated event format."""

from __future__ import annotations

import warnings
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = 'astream_events(version="v1")'
DIFFERENCE = (
    "LangGraph emits the deprecated v1 format with a warning; scopegraph raises ValueError: only v2"
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
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            events = [e["event"] async for e in graph.astream_events({"x": 0}, version="v1")]
        return {"events": events, "warned": [type(w.message).__name__ for w in caught]}
    except ValueError as exc:
        return {"raised": type(exc).__name__, "names_v2": "v2" in str(exc)}


def expected_difference(langgraph_result: Any, scopegraph_result: Any) -> None:
    assert langgraph_result["events"][0] == "on_chain_start"
    assert langgraph_result["warned"] == ["LangChainDeprecationWarning"]
    assert scopegraph_result == {"raised": "ValueError", "names_v2": True}
