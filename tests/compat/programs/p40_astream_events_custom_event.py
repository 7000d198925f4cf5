"""Custom events in ``astream_events(version="v2")``: LangChain's
``adispatch_custom_event`` inside a node gives ``on_custom_event``, and
``stream_mode="custom"`` puts stream-writer chunks into the graph's ``on_chain_stream``
events (LangGraph docs: "Streaming > Stream custom data")."""

from __future__ import annotations

from typing import Any, TypedDict

from langchain_core.callbacks.manager import adispatch_custom_event
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph

FEATURE = "astream_events v2: adispatch_custom_event and stream-writer chunks"
ASYNCIO_ONLY = (
    "langchain_core's adispatch_custom_event calls asyncio.gather; on trio use "
    "scopegraph.adispatch_custom_event"
)


class State(TypedDict):
    x: int


async def node(state: State, config: RunnableConfig) -> dict[str, Any]:
    await adispatch_custom_event("progress", {"percent": 50}, config=config)
    get_stream_writer()({"chunk": 1})
    return {"x": state["x"] + 1}


async def by_run(events: Any) -> dict[str, list[Any]]:
    """Events grouped by the run (graph or node) they belong to, in order.

    Where the graph's chunk of a custom write falls among the node's own events depends on
    scheduling in LangGraph (it moves if the node awaits after writing), so each run's
    sequence is compared on its own.
    """
    runs: dict[str, list[Any]] = {}
    async for event in events:
        runs.setdefault(event["run_id"], []).append((event["event"], event["name"], event["data"]))
    return {seq[0][1]: seq for seq in runs.values()}


async def main() -> Any:
    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    builder.add_edge("node", END)
    graph = builder.compile()
    return {
        "default": await by_run(graph.astream_events({"x": 0}, version="v2")),
        "custom_mode": await by_run(
            graph.astream_events({"x": 0}, version="v2", stream_mode="custom")
        ),
    }
