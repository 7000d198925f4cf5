"""``TimeoutPolicy``: an ``idle_timeout`` stops a node that makes no progress (its
``finally:`` runs) with ``NodeTimeoutError`` naming the limit; a ``Send(timeout=)``
replaces the node's policy; the default ``RetryPolicy`` retries a timeout."""

from __future__ import annotations

from typing import Any, TypedDict

import anyio
from langgraph.errors import NodeTimeoutError
from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy, Send, TimeoutPolicy

FEATURE = "TimeoutPolicy (run and idle timeouts), Send(timeout=), NodeTimeoutError fields"


class State(TypedDict):
    n: int


async def main() -> Any:
    cleanup: list[str] = []
    attempts: list[int] = []

    async def stuck(state: State) -> dict[str, Any]:
        try:
            await anyio.Event().wait()  # never set: only the timeout ends this
        finally:
            cleanup.append("finally ran")
        return {}

    async def stuck_once(state: State) -> dict[str, Any]:
        attempts.append(len(attempts) + 1)
        if len(attempts) == 1:
            await anyio.Event().wait()
        return {"n": state["n"] + 1}

    def fan_out(state: State) -> list[Send]:
        return [Send("stuck", state, timeout=TimeoutPolicy(idle_timeout=0.05))]

    results: dict[str, Any] = {}
    builder = StateGraph(State)
    builder.add_node("stuck", stuck, timeout=TimeoutPolicy(idle_timeout=30))
    builder.add_conditional_edges(START, fan_out)
    builder.add_edge("stuck", END)
    inp: Any = {"n": 0}
    try:
        await builder.compile().ainvoke(inp)
    except NodeTimeoutError as exc:
        results["error"] = [type(exc).__name__, exc.node, exc.kind, exc.idle_timeout]
        results["is_TimeoutError"] = isinstance(exc, TimeoutError)
    retried = StateGraph(State)
    retried.add_node(
        "stuck_once",
        stuck_once,
        timeout=TimeoutPolicy(run_timeout=0.05),
        retry_policy=RetryPolicy(initial_interval=0.0, jitter=False),
    )
    retried.add_edge(START, "stuck_once")
    results["retried"] = await retried.compile().ainvoke(inp)
    results["attempts"] = attempts
    results["cleanup"] = cleanup
    return results
