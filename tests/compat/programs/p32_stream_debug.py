"""``stream_mode="debug"`` with a checkpointer: ``checkpoint``, ``task`` and
``task_result`` events with their step numbers and payloads (LangGraph docs:
"Streaming > debug")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

FEATURE = 'stream_mode="debug" (with and without a checkpointer)'


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


async def a(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1, "log": ["a"]}


async def b(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1, "log": ["b"]}


def builder() -> Any:
    graph = StateGraph(State)
    graph.add_node("a", a)
    graph.add_node("b", b)
    graph.add_edge(START, "a")
    graph.add_edge("a", "b")
    graph.add_edge("b", END)
    return graph


async def main() -> Any:
    inputs = {"x": 0, "log": []}
    plain = builder().compile()
    saved = builder().compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "debug"}}
    return {
        "no_checkpointer": [c async for c in plain.astream(inputs, stream_mode="debug")],
        "checkpointer": [c async for c in saved.astream(inputs, config, stream_mode="debug")],
    }
