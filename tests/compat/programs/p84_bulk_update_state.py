"""``bulk_update_state`` with ``StateUpdate``s: one checkpoint per superstep, the updates
of one superstep applied as tasks of one step, the next step planned from their nodes."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import StateUpdate

FEATURE = "bulk_update_state / abulk_update_state with StateUpdate"


class State(TypedDict, total=False):
    foo: str
    baz: str


async def main() -> Any:
    def node_a(state: State) -> dict[str, Any]:
        return {"foo": "a"}

    def node_b(state: State) -> dict[str, Any]:
        return {"baz": "b"}

    builder = StateGraph(State)
    builder.add_node("node_a", node_a)
    builder.add_node("node_b", node_b)
    builder.add_edge(START, "node_a")
    builder.add_edge("node_a", "node_b")
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "bulk"}}
    await graph.abulk_update_state(
        config,
        [
            [StateUpdate(values={"foo": "first"}, as_node="node_a")],
            [
                StateUpdate(values={"foo": "updated"}, as_node="node_a"),
                StateUpdate(values={"baz": "new"}, as_node="node_b"),
            ],
        ],
    )
    state = await graph.aget_state(config)
    history = [s async for s in graph.aget_state_history(config)]
    errors = []
    empty: list[list[Any]] = [[], [[]]]
    for bad in empty:
        try:
            await graph.abulk_update_state(config, bad)
        except ValueError as exc:
            errors.append(str(exc))
    return {
        "values": state.values,
        "next": list(state.next),
        "sources": [(s.metadata or {}).get("source") for s in history],
        "errors": errors,
    }
