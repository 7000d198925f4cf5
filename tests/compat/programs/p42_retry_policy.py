"""``RetryPolicy``: a node failing with ``ConnectionError`` is retried (the default
``retry_on``) until it succeeds; the retries do not show in the streams (LangGraph docs:
"Add retry policies")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

FEATURE = "RetryPolicy: retry a failing node until it succeeds"


class State(TypedDict):
    log: Annotated[list[str], operator.add]


class Flaky(Exception):
    pass


async def main() -> Any:
    attempts: dict[str, int] = {}

    def flaky(name: str, failures: int, error: type[Exception]) -> Any:
        async def node(state: State) -> dict[str, Any]:
            attempts[name] = attempts.get(name, 0) + 1
            if attempts[name] <= failures:
                raise error(f"{name} attempt {attempts[name]}")
            return {"log": [f"{name} ok after {attempts[name]}"]}

        return node

    fast: Any = {"initial_interval": 0.0, "jitter": False}
    builder = StateGraph(State)
    builder.add_node(
        "network", flaky("network", 2, ConnectionError), retry_policy=RetryPolicy(**fast)
    )
    builder.add_node(
        "custom",
        flaky("custom", 3, Flaky),
        retry_policy=RetryPolicy(max_attempts=4, retry_on=Flaky, **fast),
    )
    builder.add_node(
        "predicate",
        flaky("predicate", 1, KeyError),
        retry_policy=RetryPolicy(retry_on=lambda exc: isinstance(exc, KeyError), **fast),
    )
    builder.add_edge(START, "network")
    builder.add_edge("network", "custom")
    builder.add_edge("custom", "predicate")
    builder.add_edge("predicate", END)
    graph = builder.compile()
    updates = [c async for c in graph.astream({"log": []}, stream_mode=["updates", "tasks"])]
    first = dict(attempts)
    attempts.clear()
    return {
        "streams": updates,
        "attempts": first,
        "invoke": await graph.ainvoke({"log": []}),
        "defaults": list(RetryPolicy())[:5],
    }
