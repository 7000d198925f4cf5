"""A node returning a key that is not in the state schema (and not declared by any node's
input annotation): the write is dropped, as in LangGraph (``compile(strict=True)`` raises
InvalidUpdateError naming node and key)."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = "node writes a key not in the state schema (dropped; strict=True raises)"


class State(TypedDict):
    answer: str


async def node(state: State) -> dict[str, Any]:
    return {"answer": "42", "anwser": "typo"}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    graph = builder.compile()
    try:
        return await graph.ainvoke({"answer": ""})
    except ValueError as exc:
        return (type(exc).__name__, "'node'" in str(exc) and "'anwser'" in str(exc))
