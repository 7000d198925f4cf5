"""``durability``: ``"sync"`` and ``"async"`` save a checkpoint after every step,
``"exit"`` only when the run ends (LangGraph docs: "Persistence > Durability modes")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

FEATURE = 'durability="sync" | "async" | "exit"'


class State(TypedDict):
    log: Annotated[list[str], operator.add]


async def a(state: State) -> dict[str, Any]:
    return {"log": ["a"]}


async def b(state: State) -> dict[str, Any]:
    return {"log": ["b"]}


def row(state: Any) -> tuple[Any, ...]:
    return (state.metadata["step"], state.metadata["source"], state.next)


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("a", a)
    builder.add_node("b", b)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    results: dict[str, Any] = {}
    for durability in ("sync", "async", "exit"):
        config: Any = {"configurable": {"thread_id": durability}}
        final = await graph.ainvoke({"log": []}, config, durability=durability)
        history = [row(s) async for s in graph.aget_state_history(config)]
        results[durability] = {"final": final, "history": history}
    return results
