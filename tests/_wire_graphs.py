"""A graph whose node raises, for the wire-parity tests (a failed run's thread error)."""

from __future__ import annotations

from typing import TypedDict

from scopegraph import END, START, StateGraph


class State(TypedDict, total=False):
    n: int


async def explode(state: State) -> State:
    raise ValueError(f"boom at n={state.get('n')}")


builder = StateGraph(State)
builder.add_node("explode", explode)
builder.add_edge(START, "explode")
builder.add_edge("explode", END)
boom = builder.compile()
