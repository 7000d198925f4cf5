"""A list of stream modes gives ``(mode, chunk)`` tuples, in emission order, even for a
list of one mode (LangGraph docs: "Streaming > Stream multiple modes")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph

FEATURE = "stream_mode as a list of modes"


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


async def a(state: State) -> dict[str, Any]:
    get_stream_writer()({"in": "a"})
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
    inputs: State = {"x": 0, "log": []}

    def config(thread: str) -> Any:
        return {"configurable": {"thread_id": thread}}

    return {
        "one": [c async for c in graph.astream(inputs, config("1"), stream_mode=["updates"])],
        "values_updates_custom": [
            c
            async for c in graph.astream(
                inputs, config("2"), stream_mode=["values", "updates", "custom"]
            )
        ],
        "all_modes": [
            c
            async for c in graph.astream(
                inputs,
                config("3"),
                stream_mode=["values", "updates", "custom", "debug", "tasks", "checkpoints"],
            )
        ],
        "subgraphs_flag": [
            c
            async for c in graph.astream(
                inputs, config("4"), stream_mode=["updates", "values"], subgraphs=True
            )
        ],
    }
