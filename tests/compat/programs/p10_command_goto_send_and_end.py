"""``Command`` variants: ``goto`` a list mixing a node name and ``Send``, ``goto`` in
addition to a static edge, ``goto=END``, and a ``Command`` with no update."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send

FEATURE = "Command(goto=[node, Send]), goto=END, Command without update"


class State(TypedDict):
    mode: str
    log: Annotated[list[str], operator.add]


async def router(state: State) -> Command[Any]:
    if state["mode"] == "send":
        return Command(goto=["worker", Send("worker", {"mode": "sent", "log": ["arg"]})])
    if state["mode"] == "end":
        return Command(update={"log": ["router ends"]}, goto=END)
    return Command(update={"log": ["router"]}, goto="worker")


async def worker(state: State) -> dict[str, Any]:
    return {"log": [f"worker({state['mode']}, {len(state['log'])})"]}


async def after(state: State) -> dict[str, Any]:
    return {"log": ["after"]}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("router", router)
    builder.add_node("worker", worker)
    builder.add_node("after", after)
    builder.add_edge(START, "router")
    builder.add_edge("router", "after")  # static edge: goto adds to it
    builder.add_edge("worker", END)
    builder.add_edge("after", END)
    graph = builder.compile()
    results = {}
    for mode in ("plain", "send", "end"):
        updates = [c async for c in graph.astream({"mode": mode, "log": []})]
        results[mode] = {
            "invoke": await graph.ainvoke({"mode": mode, "log": []}),
            "updates": [updates[0], sorted(updates[1:], key=repr)],
        }
    return results
