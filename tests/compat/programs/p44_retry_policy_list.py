"""Several retry policies for one node: the first whose ``retry_on`` matches the error
decides (LangGraph docs: "Add retry policies")."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

FEATURE = "a list of RetryPolicy for one node"


class State(TypedDict):
    attempts: int


async def main() -> Any:
    errors = [KeyError("k"), TimeoutError("t")]
    attempts: list[str] = []

    async def node(state: State) -> dict[str, Any]:
        if errors:
            error = errors.pop(0)
            attempts.append(type(error).__name__)
            raise error
        return {"attempts": len(attempts) + 1}

    policies = [
        RetryPolicy(retry_on=KeyError, initial_interval=0.0, jitter=False),
        RetryPolicy(retry_on=TimeoutError, initial_interval=0.0, jitter=False),
    ]
    builder = StateGraph(State)
    builder.add_node("node", node, retry_policy=policies)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    graph = builder.compile()
    return {"result": await graph.ainvoke({"attempts": 0}), "failed": attempts}
