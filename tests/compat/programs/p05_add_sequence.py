"""Builder shortcuts: ``add_sequence`` (nodes chained in order, named after their
functions), ``set_entry_point`` / ``set_finish_point``, and ``add_node(fn)`` (LangGraph
docs: "Create a sequence of steps")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import StateGraph

FEATURE = "add_sequence, set_entry_point / set_finish_point, add_node(fn)"


class State(TypedDict):
    value_1: str
    value_2: int
    log: Annotated[list[str], operator.add]


async def step_1(state: State) -> dict[str, Any]:
    return {"value_1": "a", "log": ["step_1"]}


async def step_2(state: State) -> dict[str, Any]:
    return {"value_1": f"{state['value_1']} b", "log": ["step_2"]}


async def step_3(state: State) -> dict[str, Any]:
    return {"value_2": 10, "log": ["step_3"]}


async def first(state: State) -> dict[str, Any]:
    return {"log": ["first"]}


async def main() -> Any:
    steps: list[Any] = [step_1, step_2, ("last", step_3)]
    sequence = StateGraph(State).add_sequence(steps)
    sequence.set_entry_point("step_1")
    sequence.set_finish_point("last")
    by_name = StateGraph(State)
    by_name.add_node(first)
    by_name.set_entry_point("first")
    by_name.set_finish_point("first")
    inputs: State = {"value_1": "", "value_2": 0, "log": []}
    return {
        "sequence": await sequence.compile().ainvoke(inputs),
        "sequence_updates": [c async for c in sequence.compile().astream(inputs)],
        "add_node_fn": await by_name.compile().ainvoke(inputs),
    }
