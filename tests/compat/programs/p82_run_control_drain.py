"""``RunControl``: ``request_drain()`` from a node lets the step finish, stops the run
before the next one with ``GraphDrained``, and the thread resumes from there."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import GraphDrained
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import RunControl, Runtime

FEATURE = "RunControl drain (ainvoke(control=...)) and GraphDrained"


class State(TypedDict, total=False):
    first: str
    second: str


async def main() -> Any:
    def first(state: State, runtime: Runtime) -> dict[str, Any]:
        assert runtime.control is not None
        runtime.control.request_drain("rollout")
        return {"first": "done"}

    def second(state: State) -> dict[str, Any]:
        return {"second": "done"}

    builder = StateGraph(State)
    builder.add_node("first", first)
    builder.add_node("second", second)
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "drain"}}
    inp: Any = {}
    control = RunControl()
    try:
        await graph.ainvoke(inp, config, control=control)
        drained: Any = "not drained"
    except GraphDrained as exc:
        drained = [type(exc).__name__, exc.reason, str(exc)]
    state = await graph.aget_state(config)
    return {
        "drained": drained,
        "drain_reason": control.drain_reason,
        "next": list(state.next),
        "resumed": await graph.ainvoke(None, config),
    }
