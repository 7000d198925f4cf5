"""Static breakpoints: ``interrupt_before`` / ``interrupt_after`` at compile time and
per call, resumed with ``None`` (LangGraph docs: "Use breakpoints")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

FEATURE = "interrupt_before / interrupt_after breakpoints, resume with None"


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


async def a(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1, "log": ["a"]}


async def b(state: State) -> dict[str, Any]:
    return {"x": state["x"] * 10, "log": ["b"]}


def builder() -> Any:
    graph = StateGraph(State)
    graph.add_node("a", a)
    graph.add_node("b", b)
    graph.add_edge(START, "a")
    graph.add_edge("a", "b")
    graph.add_edge("b", END)
    return graph


async def main() -> Any:
    inputs = {"x": 1, "log": []}
    results: dict[str, Any] = {}
    before = builder().compile(checkpointer=InMemorySaver(), interrupt_before=["b"])
    config: Any = {"configurable": {"thread_id": "before"}}
    results["before"] = {
        "updates": [c async for c in before.astream(inputs, config)],
        "next": (await before.aget_state(config)).next,
        "resume_values": [c async for c in before.astream(None, config, stream_mode="values")],
    }
    after = builder().compile(checkpointer=InMemorySaver(), interrupt_after=["a"])
    config = {"configurable": {"thread_id": "after"}}
    paused = await after.ainvoke(inputs, config)
    results["after"] = {
        "invoke": paused,
        "next": (await after.aget_state(config)).next,
        "resume": await after.ainvoke(None, config),
    }
    per_call = builder().compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "per-call"}}
    results["per_call"] = {
        "invoke": await per_call.ainvoke(inputs, config, interrupt_before=["a"]),
        "next": (await per_call.aget_state(config)).next,
        "resume": await per_call.ainvoke(None, config),
    }
    return results
