"""The synchronous API (``invoke``, ``stream``, ``get_state``, ``update_state``) and
``def`` nodes, called from a worker thread (no event loop running there)."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import anyio.to_thread
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

FEATURE = "sync API (invoke, stream, get_state, update_state) and def nodes"


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


def a(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1, "log": ["a"]}


def b(state: State) -> dict[str, Any]:
    return {"x": state["x"] * 2, "log": ["b"]}


def run_sync() -> Any:
    builder = StateGraph(State)
    builder.add_node("a", a)
    builder.add_node("b", b)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "sync"}}
    inputs: State = {"x": 1, "log": []}
    results: dict[str, Any] = {
        "invoke": graph.invoke(inputs, config),
        "stream": list(graph.stream(inputs, config, stream_mode="updates")),
    }
    graph.update_state(config, {"log": ["edit"]})
    state: Any = graph.get_state(config)
    results["state"] = (state.values, state.next, state.metadata["source"])
    history: list[Any] = list(graph.get_state_history(config))
    results["history_steps"] = [s.metadata["step"] for s in history]
    return results


async def main() -> Any:
    return await anyio.to_thread.run_sync(run_sync)
