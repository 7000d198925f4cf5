"""Subgraph persistence: ``compile(checkpointer=True)`` keeps a subgraph's history
across calls, ``checkpointer=False`` keeps none, and the parent reads a paused
subgraph's state with ``get_state(subgraphs=True)`` (LangGraph docs: "Subgraphs >
Subgraph persistence", "View subgraph state")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import Command, interrupt

FEATURE = "subgraph checkpointer=True / False, get_state(subgraphs=True), subgraph history"


class Sub(TypedDict):
    log: Annotated[list[str], operator.add]


class Parent(TypedDict):
    result: str


async def main() -> Any:
    calls: list[str] = []

    async def prepare(state: Sub) -> dict[str, Any]:
        calls.append("prepare")
        return {"log": ["prepare"]}

    async def ask(state: Sub) -> dict[str, Any]:
        calls.append("ask")
        return {"log": [f"answer={interrupt('continue?')}"]}

    def sub(checkpointer: Any) -> Any:
        builder = StateGraph(Sub)
        builder.add_node("prepare", prepare)
        builder.add_node("ask", ask)
        builder.add_edge(START, "prepare")
        builder.add_edge("prepare", "ask")
        return builder.compile(checkpointer=checkpointer)

    results: dict[str, Any] = {}
    for flag in (True, False):
        child = sub(flag)
        seen: list[list[str]] = []

        async def call(state: Parent, child: Any = child, seen: Any = seen) -> dict[str, Any]:
            out = await child.ainvoke({"log": ["start"]})
            seen.append(out["log"])
            return {"result": out["log"][-1]}

        builder = StateGraph(Parent)
        builder.add_node("call", call)
        builder.add_edge(START, "call")
        graph = builder.compile(checkpointer=InMemorySaver())
        config: Any = {"configurable": {"thread_id": str(flag)}}
        paused = []
        for answer in ("one", "two"):
            first = await graph.ainvoke({"result": ""}, config)
            state = await graph.aget_state(config, subgraphs=True)
            task = state.tasks[0]
            sub_state: Any = task.state
            paused.append(
                {
                    "interrupts": [i.value for i in first.get("__interrupt__", [])],
                    "next": state.next,
                    "sub_values": None if sub_state is None else sub_state.values,
                    "sub_next": None if sub_state is None else sub_state.next,
                }
            )
            await graph.ainvoke(Command(resume=answer), config)
        results[str(flag)] = {"paused": paused, "seen": seen, "calls": list(calls)}
        calls.clear()
    return results
