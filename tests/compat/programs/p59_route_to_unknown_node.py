"""Routing to a node that does not exist: ``Command(goto=...)``, a ``Send`` and a routing
function's return value."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send

FEATURE = "Command(goto=...), Send or a path naming an unknown node"
DIFFERENCE = (
    "LangGraph ignores the route (a logger warning) and ends the run; scopegraph raises "
    "InvalidUpdateError"
)


class State(TypedDict):
    how: str
    log: Annotated[list[str], operator.add]


async def start(state: State) -> Any:
    if state["how"] == "goto":
        return Command(update={"log": ["start"]}, goto="nope")
    return {"log": ["start"]}


def route(state: State) -> Any:
    if state["how"] == "send":
        return [Send("nope", {})]
    if state["how"] == "path":
        return "nope"
    return END


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("start", start)
    builder.add_edge(START, "start")
    builder.add_conditional_edges("start", route)
    graph = builder.compile()
    results: dict[str, Any] = {}
    for how in ("goto", "send", "path"):
        try:
            results[how] = await graph.ainvoke({"how": how, "log": []})
        except ValueError as exc:
            results[how] = (type(exc).__name__, "'nope'" in str(exc))
    return results


def expected_difference(langgraph_result: Any, scopegraph_result: Any) -> None:
    for how in ("goto", "send", "path"):
        assert langgraph_result[how] == {"how": how, "log": ["start"]}
        assert scopegraph_result[how] == ("InvalidUpdateError", True)
