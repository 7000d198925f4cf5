"""A node raising: the run raises the node's own exception (with a note naming the
task), streams stop there, and with a checkpointer the failed step can be re-run after
the fix without re-running what already succeeded (LangGraph docs: "Persistence > Fault
tolerance")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

FEATURE = "node raising: original exception, streams, resume after the fix"


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


async def main() -> Any:
    broken = {"b": True}
    calls: list[str] = []

    async def a(state: State) -> dict[str, Any]:
        calls.append("a")
        return {"x": state["x"] + 1, "log": ["a"]}

    async def b(state: State) -> dict[str, Any]:
        calls.append("b")
        if broken["b"]:
            raise ValueError(f"b cannot handle x={state['x']}")
        return {"log": ["b"]}

    builder = StateGraph(State)
    builder.add_node("a", a)
    builder.add_node("b", b)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", END)
    results: dict[str, Any] = {}

    plain = builder.compile()
    chunks: list[Any] = []
    try:
        async for chunk in plain.astream({"x": 0, "log": []}, stream_mode=["updates", "tasks"]):
            chunks.append(chunk)
    except ValueError as exc:
        results["raised"] = (str(exc), getattr(exc, "__notes__", None))
    results["chunks_before_error"] = chunks

    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "1"}}
    try:
        await graph.ainvoke({"x": 0, "log": []}, config)
    except ValueError as exc:
        results["checkpointed_raised"] = type(exc).__name__
    state = await graph.aget_state(config)
    results["failed_state"] = {"values": state.values, "next": state.next}
    broken["b"] = False
    calls.clear()
    results["resumed"] = await graph.ainvoke(None, config)
    results["resumed_calls"] = calls
    return results
