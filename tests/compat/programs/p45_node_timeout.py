"""A node ``timeout``: a node that takes too long is cancelled, its ``finally:`` runs,
and ``NodeTimeoutError`` is raised; a fast node is unaffected."""

from __future__ import annotations

from typing import Any, TypedDict

import anyio
from langgraph.errors import NodeTimeoutError
from langgraph.graph import END, START, StateGraph

FEATURE = "node timeout (add_node(..., timeout=...)) and NodeTimeoutError"


class State(TypedDict):
    slow: bool
    done: str


async def main() -> Any:
    cleanup: list[str] = []

    async def work(state: State) -> dict[str, Any]:
        try:
            if state["slow"]:
                await anyio.Event().wait()  # never set: only the timeout ends this
            return {"done": "fast"}
        finally:
            cleanup.append("finally ran")

    builder = StateGraph(State)
    builder.add_node("work", work, timeout=0.05)
    builder.add_edge(START, "work")
    builder.add_edge("work", END)
    graph = builder.compile()
    quick: Any = {"slow": False}
    slow_input: Any = {"slow": True}
    fast = await graph.ainvoke(quick)
    try:
        await graph.ainvoke(slow_input)
        slow: Any = "no error"
    except NodeTimeoutError as exc:
        slow = {"type": type(exc).__name__, "names_the_node": "'work'" in str(exc)}
    return {"fast": fast, "slow": slow, "cleanup": cleanup}
