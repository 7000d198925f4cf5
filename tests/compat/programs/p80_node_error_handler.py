"""``add_node(error_handler=...)`` and ``set_node_defaults``: a node that still fails after
its retries hands its input to its handler, which receives ``error: NodeError``; the
handler's update replaces the node's and its ``Command`` routes."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.errors import NodeError
from langgraph.graph import START, StateGraph
from langgraph.types import Command, RetryPolicy

FEATURE = "node error handlers (add_node(error_handler=), set_node_defaults) and NodeError"


class State(TypedDict):
    log: Annotated[list[str], operator.add]


async def main() -> Any:
    attempts: list[str] = []

    async def flaky(state: State) -> dict[str, Any]:
        attempts.append("flaky")
        raise ValueError("always")

    def handler(state: State, error: NodeError) -> Command[Any]:
        return Command(update={"log": [f"handled {error.node}: {error.error}"]}, goto="after")

    def fallback(state: State, error: NodeError) -> dict[str, Any]:
        return {"log": [f"default handler for {error.node}"]}

    def broken(state: State) -> dict[str, Any]:
        raise RuntimeError("broken")

    builder = StateGraph(State)
    builder.set_node_defaults(
        retry_policy=RetryPolicy(max_attempts=2, initial_interval=0.0, jitter=False),
        error_handler=fallback,
    )
    builder.add_node("flaky", flaky, error_handler=handler)
    builder.add_node("after", broken)
    builder.add_edge(START, "flaky")
    graph = builder.compile()
    inp: Any = {"log": []}
    updates = [chunk async for chunk in graph.astream(inp, stream_mode="updates")]
    return {"attempts": attempts, "updates": updates, "final": await graph.ainvoke(inp)}
