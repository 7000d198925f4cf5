"""``interrupt()`` inside a subgraph: the parent run pauses, and
``Command(resume=...)`` on the parent continues inside the subgraph (LangGraph docs:
"Subgraphs > Interrupts in subgraphs")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

FEATURE = "interrupt() inside a subgraph, resumed from the parent"


class State(TypedDict):
    log: Annotated[list[str], operator.add]


async def main() -> Any:
    calls: list[str] = []

    async def prepare(state: State) -> dict[str, Any]:
        calls.append("prepare")
        return {"log": ["prepare"]}

    async def ask(state: State) -> dict[str, Any]:
        calls.append("ask")
        return {"log": [f"answer={interrupt('continue?')}"]}

    sub = StateGraph(State)
    sub.add_node("prepare", prepare)
    sub.add_node("ask", ask)
    sub.add_edge(START, "prepare")
    sub.add_edge("prepare", "ask")
    sub.add_edge("ask", END)

    async def before(state: State) -> dict[str, Any]:
        calls.append("before")
        return {"log": ["before"]}

    builder = StateGraph(State)
    builder.add_node("before", before)
    builder.add_node("child", sub.compile())
    builder.add_edge(START, "before")
    builder.add_edge("before", "child")
    builder.add_edge("child", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "1"}}
    first = await graph.ainvoke({"log": []}, config)
    paused = await graph.aget_state(config)
    calls_before_resume = list(calls)
    calls.clear()
    resumed = await graph.ainvoke(Command(resume="yes"), config)
    return {
        "first": first,
        "paused_next": paused.next,
        "paused_interrupts": [(i.value, i.id) for i in paused.interrupts],
        "calls_before_resume": calls_before_resume,
        "resumed": resumed,
        "calls_on_resume": calls,
    }
