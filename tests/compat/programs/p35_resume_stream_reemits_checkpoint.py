"""When a run resumes (``Command(resume=...)`` after ``interrupt()``, or ``None`` after
a breakpoint), the ``checkpoints`` and ``debug`` streams first re-emit the checkpoint the
run resumes from, as the ``values`` stream re-emits its state (LangGraph docs:
"Persistence", "Streaming > debug")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

FEATURE = "checkpoints / debug streams of a resumed run"


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


async def a(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1, "log": ["a"]}


async def ask(state: State) -> dict[str, Any]:
    return {"log": [interrupt("ok?")]}


def summary(chunk: dict[str, Any]) -> tuple[Any, ...]:
    if "type" in chunk:  # a debug event
        payload = chunk["payload"]
        return (chunk["type"], chunk["step"], payload.get("name"), payload.get("next"))
    return ("checkpoint", chunk["metadata"]["step"], chunk["next"], chunk["tasks"])


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("a", a)
    builder.add_node("ask", ask)
    builder.add_edge(START, "a")
    builder.add_edge("a", "ask")
    builder.add_edge("ask", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    results: dict[str, Any] = {}
    for mode in ("checkpoints", "debug"):
        config: Any = {"configurable": {"thread_id": mode}}
        await graph.ainvoke({"x": 0, "log": []}, config)
        resumed = graph.astream(Command(resume="yes"), config, stream_mode=mode)
        results[mode] = [summary(c) async for c in resumed]
    breakpoint_graph = builder.compile(checkpointer=InMemorySaver(), interrupt_before=["a"])
    config = {"configurable": {"thread_id": "breakpoint"}}
    await breakpoint_graph.ainvoke({"x": 0, "log": []}, config)
    resumed = breakpoint_graph.astream(None, config, stream_mode="checkpoints")
    results["breakpoint"] = [summary(c) async for c in resumed]
    return results
