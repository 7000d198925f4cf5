"""``Overwrite``: a node replaces a reducer key's value instead of appending to it, and
wins over the other writes of that key in the same step."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import START, StateGraph
from langgraph.types import Overwrite

FEATURE = "Overwrite: bypass a key's reducer"


class State(TypedDict):
    log: Annotated[list[str], operator.add]


async def reset(state: State) -> dict[str, Any]:
    return {"log": Overwrite(["reset"])}


async def append(state: State) -> dict[str, Any]:
    return {"log": ["appended"]}


async def after(state: State) -> dict[str, Any]:
    return {"log": ["after"]}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("reset", reset)
    builder.add_node("append", append)
    builder.add_node("after", after)
    builder.add_edge(START, "reset")
    builder.add_edge(START, "append")
    builder.add_edge(["reset", "append"], "after")
    graph = builder.compile()
    return await graph.ainvoke({"log": ["input"]})
