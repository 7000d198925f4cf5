"""After a node fails in a checkpointed run, ``get_state`` shows the failed task with its
error, so that the caller can see what went wrong before resuming (LangGraph docs:
"Persistence > Pending writes")."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

FEATURE = "get_state() after a node failed: the task's error"


class State(TypedDict):
    x: int


async def fails(state: State) -> dict[str, Any]:
    raise ValueError("boom")


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("fails", fails)
    builder.add_edge(START, "fails")
    builder.add_edge("fails", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "1"}}
    try:
        await graph.ainvoke({"x": 0}, config)
    except ValueError:
        pass
    state = await graph.aget_state(config)
    return {"next": state.next, "tasks": [(t.name, t.error, t.result) for t in state.tasks]}
