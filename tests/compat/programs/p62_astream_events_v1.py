"""``astream_events(version="v1")``, LangChain's deprecated event format: the same events
as v2 without parent ids, the root's own config metadata, and the root's end output made
from its streamed chunks; it warns."""

from __future__ import annotations

import operator
import warnings
from typing import Annotated, Any, TypedDict

from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph

FEATURE = 'astream_events(version="v1")'


class State(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


async def node(state: State) -> dict[str, Any]:
    get_stream_writer()(f"step{state['x']}")
    return {"x": state["x"] + 1, "log": ["node"]}


def route(state: State) -> str:
    return "node" if state["x"] < 2 else END


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_conditional_edges("node", route, ["node", END])
    graph = builder.compile()
    config: Any = {"run_name": "MyRun", "tags": ["t0"], "metadata": {"m": 1}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        events = [e async for e in graph.astream_events({"x": 0, "log": []}, version="v1")]
        configured = [
            e async for e in graph.astream_events({"x": 0, "log": []}, config, version="v1")
        ]
        values = [
            e
            async for e in graph.astream_events(
                {"x": 0, "log": []}, version="v1", stream_mode="values"
            )
        ]
        # String chunks add up: the root's end output is their sum (LangChain's v1).
        # (Only the root's events: LangGraph interleaves custom chunks with the node
        # events in no fixed order.)
        custom = [
            (e["event"], e["data"])
            async for e in graph.astream_events(
                {"x": 0, "log": []}, version="v1", stream_mode="custom"
            )
            if e["name"] == "LangGraph"
        ]
    warned = [(type(w.message).__name__, str(w.message)) for w in caught]
    return {
        "events": events,
        "configured": configured,
        "values": values,
        "custom": custom,
        "warned": warned,
    }
