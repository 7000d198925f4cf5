"""Human in the loop: ``interrupt()`` pauses a node, the state is saved by
``InMemorySaver``, and ``Command(resume=...)`` re-runs the node with the answer
(LangGraph docs: "Interrupts")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

FEATURE = "interrupt() + Command(resume=...) with InMemorySaver"


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


def snapshot(state: Any) -> dict[str, Any]:
    return {
        "values": state.values,
        "next": state.next,
        "metadata": state.metadata,
        "interrupts": [(i.value, i.id) for i in state.interrupts],
        "tasks": [(t.name, [(i.value, i.id) for i in t.interrupts]) for t in state.tasks],
    }


async def main() -> Any:
    calls: list[str] = []

    async def pre(state: State) -> dict[str, Any]:
        calls.append("pre")
        return {"x": state["x"] + 1, "log": ["pre"]}

    async def ask(state: State) -> dict[str, Any]:
        calls.append("ask started")
        answer = interrupt({"question": "approve?", "x": state["x"]})
        calls.append(f"ask got {answer!r}")
        return {"log": [f"answer={answer}"]}

    async def post(state: State) -> dict[str, Any]:
        calls.append("post")
        return {"log": ["post"]}

    builder = StateGraph(State)
    builder.add_node("pre", pre)
    builder.add_node("ask", ask)
    builder.add_node("post", post)
    builder.add_edge(START, "pre")
    builder.add_edge("pre", "ask")
    builder.add_edge("ask", "post")
    builder.add_edge("post", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "1"}}

    first = await graph.ainvoke({"x": 0, "log": []}, config)
    paused = snapshot(await graph.aget_state(config))
    resumed = await graph.ainvoke(Command(resume="yes"), config)
    done = snapshot(await graph.aget_state(config))
    return {
        "first": first,
        "interrupt_fields": [(i.value, i.id) for i in first["__interrupt__"]],
        "paused": paused,
        "resumed": resumed,
        "done": done,
        "calls": calls,
    }
