"""``add_node(defer=True)``: a deferred node waits until nothing else is left to run, then
sees the state as it is."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import START, StateGraph

FEATURE = "deferred nodes (add_node(defer=True))"


class State(TypedDict):
    log: Annotated[list[str], operator.add]


async def main() -> Any:
    def step(name: str) -> Any:
        def run(state: State) -> dict[str, Any]:
            return {"log": [name]}

        return run

    def summary(state: State) -> dict[str, Any]:
        return {"log": [f"summary of {sorted(state['log'])}"]}

    builder = StateGraph(State)
    for name in ("start", "short", "long", "longer"):
        builder.add_node(name, step(name))
    builder.add_node("summary", summary, defer=True)
    builder.add_edge(START, "start")
    builder.add_edge("start", "short")
    builder.add_edge("start", "long")
    builder.add_edge("long", "longer")
    builder.add_edge("short", "summary")
    inp: Any = {"log": []}
    return await builder.compile().ainvoke(inp)
