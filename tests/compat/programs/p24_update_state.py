"""Editing a thread's state with ``update_state``: reducers apply to the update,
``as_node`` decides what runs next, and the edit is a checkpoint of its own (LangGraph
docs: "Persistence > Update state")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph

FEATURE = "update_state (reducers, as_node), get_state after edits"


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


async def a(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1, "log": ["a"]}


async def b(state: State) -> dict[str, Any]:
    return {"x": state["x"] + 1, "log": ["b"]}


def snap(state: Any) -> dict[str, Any]:
    return {"values": state.values, "next": state.next, "metadata": state.metadata}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("a", a)
    builder.add_node("b", b)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "u"}}
    out: dict[str, Any] = {"run": await graph.ainvoke({"x": 0, "log": []}, config)}

    returned = await graph.aupdate_state(config, {"x": 10})
    out["returned_config_keys"] = sorted(returned["configurable"])
    out["after_x"] = snap(await graph.aget_state(config))
    await graph.aupdate_state(config, {"log": ["edited"]})
    out["after_log"] = snap(await graph.aget_state(config))
    await graph.aupdate_state(config, {"x": 20}, as_node="a")
    out["as_node_a"] = snap(await graph.aget_state(config))
    out["continue"] = await graph.ainvoke(None, config)

    fresh: Any = {"configurable": {"thread_id": "fresh"}}
    await graph.aupdate_state(fresh, {"x": 5})
    out["fresh"] = snap(await graph.aget_state(fresh))
    out["fresh_run"] = await graph.ainvoke(None, fresh)
    out["sync_get_state"] = graph.get_state(fresh).values
    return out
