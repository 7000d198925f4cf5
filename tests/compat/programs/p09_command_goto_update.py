"""``Command(update=..., goto=...)`` from a node, with the destinations declared by the
return annotation ``Command[Literal[...]]`` (LangGraph docs: "Combine control flow and
state updates with Command")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

FEATURE = "Command(update, goto) with Command[Literal[...]] routing"


class State(TypedDict):
    value: int
    log: Annotated[list[str], operator.add]


async def decide(state: State) -> Command[Literal["small", "big"]]:
    target: Literal["small", "big"] = "big" if state["value"] > 10 else "small"
    return Command(update={"value": state["value"] * 2, "log": ["decide"]}, goto=target)


async def small(state: State) -> dict[str, Any]:
    return {"log": [f"small {state['value']}"]}


async def big(state: State) -> dict[str, Any]:
    return {"log": [f"big {state['value']}"]}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("decide", decide)
    builder.add_node("small", small)
    builder.add_node("big", big)
    builder.add_edge(START, "decide")
    builder.add_edge("small", END)
    builder.add_edge("big", END)
    graph = builder.compile()
    return {
        "small": await graph.ainvoke({"value": 3, "log": []}),
        "big": await graph.ainvoke({"value": 30, "log": []}),
        "updates": [c async for c in graph.astream({"value": 3, "log": []})],
        "values": [c async for c in graph.astream({"value": 30, "log": []}, stream_mode="values")],
    }
