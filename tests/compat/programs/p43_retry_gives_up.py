"""When retries are exhausted, or the error is not retryable (the default ``retry_on``
does not retry ``ValueError``), the node's own exception is raised."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

FEATURE = "RetryPolicy: max_attempts exhausted, non-retryable errors"


class State(TypedDict):
    x: int


async def main() -> Any:
    attempts: list[str] = []

    def failing(name: str, error: Exception) -> Any:
        async def node(state: State) -> dict[str, Any]:
            attempts.append(name)
            raise error

        return node

    fast: Any = {"initial_interval": 0.0, "jitter": False}
    results: dict[str, Any] = {}
    cases: dict[str, tuple[Exception, RetryPolicy]] = {
        "exhausted": (ConnectionError("down"), RetryPolicy(max_attempts=2, **fast)),
        "not_retryable": (ValueError("bad value"), RetryPolicy(max_attempts=5, **fast)),
        "retry_on_other": (
            KeyError("k"),
            RetryPolicy(max_attempts=5, retry_on=(TypeError, ConnectionError), **fast),
        ),
    }
    for case, (error, policy) in cases.items():
        builder = StateGraph(State)
        builder.add_node("node", failing(case, error), retry_policy=policy)
        builder.add_edge(START, "node")
        builder.add_edge("node", END)
        graph = builder.compile()
        attempts.clear()
        try:
            await graph.ainvoke({"x": 0})
            results[case] = "no error"
        except Exception as exc:
            results[case] = {
                "error": (type(exc).__name__, str(exc)),
                "same_object": exc is error,
                "attempts": len(attempts),
            }
    return results
