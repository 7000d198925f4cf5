"""What the streams show when a run is interrupted and resumed: ``__interrupt__`` in the
``updates`` and ``values`` streams, and the resumed run's chunks (LangGraph docs:
"Interrupts > Stream")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

FEATURE = "interrupt/resume as seen by the updates and values streams"


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


async def pre(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1, "log": ["pre"]}


async def ask(state: State) -> dict[str, Any]:
    return {"log": [str(interrupt("name?"))]}


async def post(state: State) -> dict[str, Any]:
    return {"log": ["post"]}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("pre", pre)
    builder.add_node("ask", ask)
    builder.add_node("post", post)
    builder.add_edge(START, "pre")
    builder.add_edge("pre", "ask")
    builder.add_edge("ask", "post")
    builder.add_edge("post", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    inputs: State = {"x": 0, "log": []}
    results: dict[str, Any] = {}
    for mode in ("updates", "values"):
        config: Any = {"configurable": {"thread_id": mode}}
        results[mode] = {
            "interrupted": [c async for c in graph.astream(inputs, config, stream_mode=mode)],
            "resumed": [
                c async for c in graph.astream(Command(resume="Ada"), config, stream_mode=mode)
            ],
        }
    config = {"configurable": {"thread_id": "both"}}
    results["values_and_updates"] = [
        c async for c in graph.astream(inputs, config, stream_mode=["values", "updates"])
    ]
    results["ainvoke_updates"] = await graph.ainvoke(
        inputs, {"configurable": {"thread_id": "inv"}}, stream_mode="updates"
    )
    return results
