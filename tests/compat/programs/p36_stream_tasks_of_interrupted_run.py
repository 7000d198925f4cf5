"""The ``tasks`` and ``debug`` streams of a run that ``interrupt()`` pauses: the task's
result payload lists its interrupts as dicts (LangGraph docs: "Streaming > tasks",
"Interrupts")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

FEATURE = "tasks / debug payloads of an interrupted task"


class State(TypedDict):
    log: Annotated[list[str], operator.add]


async def ask(state: State) -> dict[str, Any]:
    return {"log": [interrupt({"question": "q?"})]}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    results: dict[str, Any] = {}
    for mode in ("tasks", "debug"):
        config: Any = {"configurable": {"thread_id": mode}}
        results[mode] = [c async for c in graph.astream({"log": []}, config, stream_mode=mode)]
    return results
