"""``interrupt()`` in a graph compiled without a checkpointer."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

FEATURE = "interrupt() without a checkpointer"
DIFFERENCE = (
    "LangGraph stops the run with `__interrupt__` but it can never be resumed; scopegraph "
    "raises ContextError asking for a checkpointer"
)


class State(TypedDict):
    answer: str


async def ask(state: State) -> dict[str, Any]:
    return {"answer": interrupt("question?")}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    graph = builder.compile()
    try:
        result = await graph.ainvoke({"answer": ""})
        return {"returned": result}
    except RuntimeError as exc:
        return {"raised": type(exc).__name__, "asks_for_checkpointer": "checkpointer" in str(exc)}


def expected_difference(langgraph_result: Any, scopegraph_result: Any) -> None:
    assert langgraph_result == {
        "returned": {"answer": "", "__interrupt__": [("Interrupt", "question?", "<id0>")]}
    }
    assert scopegraph_result == {"raised": "ContextError", "asks_for_checkpointer": True}
