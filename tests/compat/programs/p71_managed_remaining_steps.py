"""Managed values: ``remaining_steps: RemainingSteps`` and ``is_last_step: IsLastStep`` are
filled in by the run (the steps left before the recursion limit), so an agent's guard
stops the loop before ``GraphRecursionError``; they are not in the output."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.managed import IsLastStep, RemainingSteps

FEATURE = "managed values RemainingSteps and IsLastStep (an agent's step guard)"


class State(TypedDict):
    log: Annotated[list[Any], operator.add]
    remaining_steps: RemainingSteps
    is_last_step: IsLastStep


async def agent(state: State) -> dict[str, Any]:
    return {"log": [[state["remaining_steps"], state["is_last_step"]]]}


def guard(state: State) -> str:
    return END if state["remaining_steps"] <= 2 else "agent"


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("agent", agent)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", guard, ["agent", END])
    graph: Any = builder.compile()
    guarded = await graph.ainvoke({"log": []}, {"recursion_limit": 6})
    last = await graph.ainvoke({"log": []}, {"recursion_limit": 2})
    return {"guarded": guarded, "last": last}
