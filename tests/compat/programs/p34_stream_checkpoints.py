"""``stream_mode="checkpoints"``: one chunk per saved checkpoint (config, parent config,
values, metadata, next, tasks); nothing without a checkpointer (LangGraph docs:
"Streaming > Supported stream modes")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

FEATURE = 'stream_mode="checkpoints"'


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


async def a(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1, "log": ["a"]}


async def b(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1, "log": ["b"]}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("a", a)
    builder.add_node("b", b)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "cp"}}
    inputs: State = {"x": 0, "log": []}
    return {
        "run": [c async for c in graph.astream(inputs, config, stream_mode="checkpoints")],
        "no_checkpointer": [
            c async for c in builder.compile().astream(inputs, stream_mode="checkpoints")
        ],
    }
