"""A routing function may return a list of nodes (they run in parallel), a single node,
or END; a conditional entry point routes from START (LangGraph docs: "Conditional
branching")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph

FEATURE = "conditional edges returning a list of nodes, END, and from START"


class State(TypedDict):
    which: str
    log: Annotated[list[str], operator.add]


def node(name: str) -> Any:
    async def run(state: State) -> dict[str, Any]:
        return {"log": [name]}

    return run


def pick(state: State) -> list[str] | str:
    if state["which"] == "both":
        return ["b", "c"]
    if state["which"] == "none":
        return END
    return state["which"]


def entry(state: State) -> str:
    return "skip" if state["which"] == "skip" else "a"


async def main() -> Any:
    builder = StateGraph(State)
    for name in ("a", "b", "c", "skip"):
        builder.add_node(name, node(name))
    builder.add_conditional_edges(START, entry, ["a", "skip"])
    builder.add_conditional_edges("a", pick, ["b", "c", END])
    builder.add_edge("b", END)
    builder.add_edge("c", END)
    builder.add_edge("skip", END)
    graph = builder.compile()
    results = {}
    for which in ("both", "b", "c", "none", "skip"):
        results[which] = await graph.ainvoke({"which": which, "log": []})
    return results
