"""Time travel: list a thread's checkpoints with ``get_state_history``, replay from an
old checkpoint (a fork), and branch off with ``update_state`` on an old checkpoint
(LangGraph docs: "Use time-travel")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

FEATURE = "time travel: get_state_history, replay and fork from an old checkpoint"


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


def row(state: Any) -> tuple[Any, ...]:
    return (
        state.metadata["step"],
        state.metadata["source"],
        state.next,
        state.values,
        state.parent_config is None,
    )


async def main() -> Any:
    calls: list[str] = []

    async def a(state: State) -> dict[str, Any]:
        calls.append("a")
        return {"x": state["x"] + 1, "log": ["a"]}

    async def b(state: State) -> dict[str, Any]:
        calls.append("b")
        return {"x": state["x"] * 10, "log": ["b"]}

    builder = StateGraph(State)
    builder.add_node("a", a)
    builder.add_node("b", b)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "tt"}}
    await graph.ainvoke({"x": 1, "log": []}, config)
    history = [s async for s in graph.aget_state_history(config)]
    before_b = next(s for s in history if s.next == ("b",))
    old = await graph.aget_state(before_b.config)

    calls.clear()
    replay = await graph.ainvoke(None, before_b.config)
    replay_calls = list(calls)
    after_replay = [row(s) async for s in graph.aget_state_history(config)]

    forked_config = await graph.aupdate_state(before_b.config, {"x": 100})
    calls.clear()
    fork = await graph.ainvoke(None, forked_config)
    return {
        "history": [row(s) for s in history],
        "old_snapshot": row(old),
        "replay": replay,
        "replay_calls": replay_calls,
        "history_after_replay": after_replay,
        "fork": fork,
        "fork_calls": calls,
        "latest": row(await graph.aget_state(config)),
        "limit_2": [row(s) async for s in graph.aget_state_history(config, limit=2)],
    }
