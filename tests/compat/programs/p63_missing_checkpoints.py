"""Asking for a checkpoint that does not exist: ``get_state`` with an unknown
``checkpoint_id``, and ``ainvoke(None)`` (resume) on a thread that has no checkpoint."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

FEATURE = "unknown checkpoint_id / resuming a thread without checkpoints"
DIFFERENCE = (
    "LangGraph returns an empty snapshot for an unknown checkpoint_id and raises "
    "EmptyInputError for ainvoke(None) on an empty thread; scopegraph raises "
    "CheckpointNotFoundError for both"
)


class State(TypedDict):
    x: int


async def node(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    await graph.ainvoke({"x": 0}, {"configurable": {"thread_id": "t"}})
    results: dict[str, Any] = {}
    unknown: Any = {
        "configurable": {"thread_id": "t", "checkpoint_id": "1f000000-0000-6000-8000-000000000000"}
    }
    try:
        state = await graph.aget_state(unknown)
        results["unknown_checkpoint"] = {"values": state.values, "next": state.next}
    except Exception as exc:
        results["unknown_checkpoint"] = type(exc).__name__
    empty_thread = await graph.aget_state({"configurable": {"thread_id": "empty"}})
    results["unknown_thread"] = {"values": empty_thread.values, "next": empty_thread.next}
    try:
        results["resume_empty"] = await graph.ainvoke(None, {"configurable": {"thread_id": "new"}})
    except Exception as exc:
        results["resume_empty"] = type(exc).__name__
    return results


def expected_difference(langgraph_result: Any, scopegraph_result: Any) -> None:
    empty: dict[str, Any] = {"values": {}, "next": ()}
    assert langgraph_result == {
        "unknown_checkpoint": empty,
        "unknown_thread": empty,
        "resume_empty": "EmptyInputError",
    }
    assert scopegraph_result == {
        "unknown_checkpoint": "CheckpointNotFoundError",
        "unknown_thread": empty,
        "resume_empty": "CheckpointNotFoundError",
    }
